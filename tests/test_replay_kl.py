"""``replay.loss: kl``: replay rows held to the base model's distribution (learning without forgetting)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from harness.training import load_config, train_candidate
from harness.training.anchor import anchored_loss

from harness.errors import InputError
from tests.tiny import write_triage_file

GENERAL = Path(__file__).resolve().parents[1] / "harness" / "resources" / "general"
# fp32 on every machine: the test is about the loss, not the CPU. With precision auto (bf16 autocast)
# on a CPU with AMX the KL-replayed adapter drifted 0.0123 nats against 0.0134 for text replay: the
# base distribution it is held to is itself bf16-rounded there.
CONFIG = """\
base_model: {model}
dataset: ./train.jsonl
lora: {{r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj, o_proj, up_proj, down_proj]}}
training: {{epochs: 3, learning_rate: 5.0e-2, batch_size: 8, eval_split: 0.2, early_stopping_patience: 0,
           precision: fp32}}
replay: {{dataset: ./general.jsonl, share: 1.0, loss: {loss}, kl_weight: 50,
         exclude: [{general}/items.jsonl, {general}/text.jsonl]}}
output_dir: ./candidates
"""


@pytest.fixture
def kl_project(tmp_path, tiny_checkpoint, monkeypatch) -> Path:
    """A random-weight model (a spread-out distribution that plain replay would reshape), task data, general chat."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    write_triage_file(tmp_path / "train.jsonl", 64)
    general = [{"messages": [{"role": "user", "content": f"Name a {thing} and say why you like it."},
                             {"role": "assistant", "content": f"A {colour} {thing}: it is calm and bright."}]}
               for thing in ("bird", "tree", "song", "city", "book", "fruit", "boat", "lamp")
               for colour in ("red", "teal", "amber", "grey")]
    (tmp_path / "general.jsonl").write_text("".join(json.dumps(row) + "\n" for row in general))
    for loss in ("text", "kl"):
        (tmp_path / f"lora-{loss}.yaml").write_text(CONFIG.format(model=tiny_checkpoint, loss=loss, general=GENERAL))
    return tmp_path


def test_task_rows_get_cross_entropy_and_replay_rows_the_kl_to_the_base():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=generator)
    base = torch.randn(3, 6, 11, generator=generator)
    labels = torch.randint(0, 11, (3, 6), generator=generator)
    labels[:, :2] = -100  # the prompt
    labels[2, 5] = -100  # padding
    replay = torch.tensor([False, True, False])

    loss = anchored_loss(logits, base[replay], labels, replay, kl_weight=0.5)

    log_p = F.log_softmax(logits[:, :-1], -1)
    targets = labels[:, 1:]
    ce = F.cross_entropy(logits[[0, 2], :-1].reshape(-1, 11), targets[[0, 2]].reshape(-1), reduction="sum")
    log_q = F.log_softmax(base[1, :-1], -1)
    kl_tokens = F.kl_div(log_p[1], log_q, log_target=True, reduction="none").sum(-1)
    kl = kl_tokens[targets[1] != -100].sum()
    tokens = (targets != -100).sum()
    assert loss.item() == pytest.approx(((ce + 0.5 * kl) / tokens).item(), rel=1e-5)
    assert anchored_loss(logits, logits[replay], labels, replay, 1.0, num_items_in_batch=tokens * 2).item() == \
        pytest.approx((F.cross_entropy(logits[[0, 2], :-1].reshape(-1, 11), targets[[0, 2]].reshape(-1),
                                       reduction="sum") / (tokens * 2)).item(), rel=1e-5), "the same distribution costs 0"
    without = anchored_loss(logits, base[:0], labels, torch.zeros(3, dtype=torch.bool), 1.0)
    assert without.item() == pytest.approx(F.cross_entropy(logits[:, :-1].reshape(-1, 11), targets.reshape(-1)).item(),
                                           rel=1e-5), "no replay row: the model's own mean cross-entropy"


def _replay_kl(candidate, config) -> float:
    """Mean KL(base || candidate) over the reply tokens of the candidate's replay examples."""
    from harness.training.data import prepare_sets, tokenize_all
    from peft import PeftModel

    from harness.models import load_model

    sets = prepare_sets(config)
    loaded = load_model(config.base_model)
    model = PeftModel.from_pretrained(loaded.model, str(candidate)).eval()
    rows = tokenize_all(loaded.tokenizer, sets.train[len(sets.train) - sets.replay:], config.training.max_length)
    total, count = 0.0, 0
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row["input_ids"]])
            labels = torch.tensor([row["labels"]])[:, 1:]
            log_p = F.log_softmax(model(input_ids=ids).logits[:, :-1], -1)
            with model.disable_adapter():
                log_q = F.log_softmax(model(input_ids=ids).logits[:, :-1], -1)
            kl = (log_q.exp() * (log_q - log_p)).sum(-1)
            total += kl[labels != -100].sum().item()
            count += int((labels != -100).sum())
    return total / count


@pytest.mark.slow
def test_kl_replay_keeps_the_base_distribution_closer_than_text_replay(kl_project):
    text, kl = load_config(kl_project / "lora-text.yaml"), load_config(kl_project / "lora-kl.yaml")
    assert (kl.replay.loss, text.replay.loss) == ("kl", "text")

    by_text, by_kl = train_candidate(text), train_candidate(kl)

    manifest = json.loads((by_kl / "manifest.json").read_text())
    assert manifest["data"]["replay_examples"] > 0
    drift_text, drift_kl = _replay_kl(by_text, text), _replay_kl(by_kl, kl)
    assert drift_kl < 0.8 * drift_text, (drift_kl, drift_text)


@pytest.mark.slow
def test_an_unknown_replay_loss_is_a_config_error(kl_project, capsys):
    from harness.cli.main import main

    (kl_project / "bad.yaml").write_text((kl_project / "lora-kl.yaml").read_text().replace("loss: kl", "loss: logits"))
    assert main(["train", str(kl_project / "bad.yaml")]) == 2
    assert "loss must be one of text, kl" in capsys.readouterr().err


@pytest.mark.slow
def test_kl_replay_keeps_replies_cut_at_the_limit_that_text_replay_drops(tmp_path, monkeypatch):
    """Every reply cut at max_new_tokens: text replay refuses (nothing finished to learn), KL replay keeps each one."""
    from harness.training.data import prepare_sets

    from tests.tiny_chain import make_chain_checkpoint

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    model = make_chain_checkpoint(tmp_path / "chain")
    write_triage_file(tmp_path / "train.jsonl", 40)
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps({"prompt": f"Say something about {n}."}) + "\n"
                                                    for n in range(20)))
    config = CONFIG.replace("dataset: ./general.jsonl", "prompts: ./prompts.jsonl, max_new_tokens: 1")
    for loss in ("text", "kl"):
        (tmp_path / f"{loss}.yaml").write_text(config.format(model=model, loss=loss, general=GENERAL))
    sets = prepare_sets(load_config(tmp_path / "kl.yaml"))
    record = sets.provenance["replay"]["self_distillation"]
    assert sets.replay == record["examples"] == record["chosen"] > 0 and record["dropped"] == 0
    with pytest.raises(InputError, match="replay-empty|none of the"):
        prepare_sets(load_config(tmp_path / "text.yaml"))
