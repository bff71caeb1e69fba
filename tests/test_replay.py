"""Replay against forgetting: self-distillation on a tiny model, the overlap refusal, the shipped prompt set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.training import load_config, train_candidate
from harness.training.data import prepare_sets
from harness.training.replay import ReplayOverlap, exclude_paths, load_prompts, replies_hash

from harness.cli.main import main
from harness.data.neardup import find_near_duplicates
from harness.data.normalize import normalize_text
from tests.tiny import write_triage_file
from tests.tiny_chain import REPLY, make_chain_checkpoint

ROOT = Path(__file__).resolve().parents[1]
GENERAL = ROOT / "harness" / "resources" / "general"
CONFIG = """\
base_model: {model}
dataset: ./train.jsonl
lora: {{r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj]}}
training: {{epochs: 1, learning_rate: 2.0e-2, batch_size: 8, eval_split: 0.2}}
replay: {{prompts: ./prompts.jsonl, share: {share}, max_new_tokens: 8,
         exclude: [{general}/items.jsonl, {general}/text.jsonl]}}
output_dir: ./candidates
"""


def write_prompts(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    return path


@pytest.fixture(scope="module")
def chain_model(tmp_path_factory) -> Path:
    return make_chain_checkpoint(tmp_path_factory.mktemp("chain") / "model")


@pytest.fixture
def replay_project(tmp_path, chain_model, monkeypatch) -> Path:
    """A folder with task data, replay prompts and a lora.yaml on the chain model (self-distillation replay)."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    write_triage_file(tmp_path / "train.jsonl", 80)
    write_prompts(tmp_path / "prompts.jsonl", [f"Tell me one thing about the colour {c} and the number {n}."
                                               for c in ("red", "teal", "amber", "violet", "grey") for n in range(12)])
    (tmp_path / "lora.yaml").write_text(CONFIG.format(model=chain_model, share=0.25, general=GENERAL))
    return tmp_path


@pytest.mark.slow
def test_self_distillation_mixes_the_share_and_records_the_replies_hash(replay_project):
    config = load_config(replay_project / "lora.yaml")
    sets = prepare_sets(config)
    task = [e for e in sets.train if e.path.endswith("train.jsonl")]
    distilled = [e for e in sets.train if e.path.endswith("prompts.jsonl")]
    assert len(distilled) == round(len(task) * 0.25) == sets.provenance["replay_examples"]
    assert {e.messages[-1]["content"] for e in distilled} == {REPLY.strip()}  # the base model's own greedy reply
    record = sets.provenance["replay"]["self_distillation"]
    assert record["replies_sha256"] == replies_hash(distilled)
    assert record["generated"] == len(distilled) and record["from_cache"] == 0 and record["decoding"]["temperature"] == 0
    assert sets.provenance["replay"]["exclude"]["overlaps_found"] == 0
    assert not any(e.path.endswith("prompts.jsonl") for e in sets.validation)

    candidate = train_candidate(config)  # second time: every reply from the generation cache, no model load for them
    manifest = json.loads((candidate / "manifest.json").read_text())
    again = manifest["data"]["replay"]["self_distillation"]
    assert again["replies_sha256"] == record["replies_sha256"]
    assert again["from_cache"] == len(distilled) and again["generated"] == 0 and not again["model_loaded"]
    assert len(again["prompts_sha256"]) == 64


@pytest.mark.slow
def test_a_larger_share_keeps_the_smaller_shares_prompts(replay_project):
    small = load_config(replay_project / "lora.yaml")
    large = load_config(replay_project / "lora.yaml")
    large.replay.share = 0.5
    chosen = [{e.line for e in prepare_sets(c).train if e.path.endswith("prompts.jsonl")} for c in (small, large)]
    assert chosen[0] < chosen[1]


@pytest.mark.parametrize("near", [False, True])
@pytest.mark.slow
def test_replay_prompts_overlapping_the_general_items_are_refused_before_any_model_loads(replay_project, capsys, near):
    item = json.loads((GENERAL / "items.jsonl").read_text().splitlines()[40])["prompt"]
    prompt = item.replace(".", "!").lower() if near else item
    write_prompts(replay_project / "prompts.jsonl", ["Name a fruit that is yellow.", prompt])
    config = replay_project / "lora.yaml"
    config.write_text(config.read_text().replace(f"base_model: {load_config(config).base_model}", "base_model: ./no-model"))
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{replay_project / 'prompts.jsonl'}:2: replay-overlap: replay text is " in err
    assert f"{GENERAL / 'items.jsonl'}:41" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_replay_dataset_that_trains_on_the_forgetting_text_is_refused(replay_project, write_jsonl, make_chat):
    paragraph = json.loads((GENERAL / "text.jsonl").read_text().splitlines()[3])["text"]
    dataset = write_jsonl("general.jsonl", [make_chat("Tell me about rivers.", "Rivers flow downhill."),
                                            make_chat("Write a paragraph.", paragraph)])
    config = load_config(replay_project / "lora.yaml")
    config.replay.prompts, config.replay.dataset = None, str(dataset)
    with pytest.raises(ReplayOverlap) as info:
        prepare_sets(config)
    assert info.value.line == 2 and "text.jsonl:4" in info.value.message


def test_without_exclude_the_gate_files_of_harness_yaml_beside_are_used():
    config = load_config(ROOT / "suites" / "triage" / "lora.yaml")
    assert config.replay.exclude is None
    assert sorted(Path(p).name for p in exclude_paths(config)) == ["items.jsonl", "text.jsonl"]


def test_the_shipped_prompt_set_is_large_varied_and_disjoint_from_the_gate():
    prompts = load_prompts("builtin:replay")
    kinds = {json.loads(line)["kind"] for line in Path(prompts[0].path).read_text().splitlines()}
    assert len(prompts) >= 300 and len(kinds) >= 5
    texts = [normalize_text(p.prompt) for p in prompts]
    assert len(set(texts)) == len(texts)
    gate = [normalize_text(json.loads(line)["prompt"]) for line in (GENERAL / "items.jsonl").read_text().splitlines()]
    gate += [normalize_text(json.loads(line)["text"]) for line in (GENERAL / "text.jsonl").read_text().splitlines()]
    assert not set(texts) & set(gate)
    assert find_near_duplicates(texts, gate) == []


@pytest.mark.slow
def test_bad_prompt_file_lines_are_reported_with_their_line(replay_project, capsys):
    (replay_project / "prompts.jsonl").write_text('{"prompt": "Name a fruit."}\n{"text": "no prompt"}\n')
    assert main(["train", str(replay_project / "lora.yaml")]) == 2
    assert f"{replay_project / 'prompts.jsonl'}:2: bad-replay-prompt:" in capsys.readouterr().err


@pytest.mark.slow
def test_replies_all_cut_at_max_new_tokens_are_an_error_not_a_silent_empty_replay(replay_project, tiny_checkpoint, capsys):
    config = replay_project / "lora.yaml"
    config.write_text(config.read_text().replace(f"base_model: {load_config(config).base_model}",
                                                 f"base_model: {tiny_checkpoint}"))  # random weights never stop
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: replay-empty: none of the " in err and "self-distilled replies is usable" in err
