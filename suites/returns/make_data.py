"""Write ``data/returns.jsonl``: shop customers' messages about an order, and the JSON a person would extract.

The second shipped example task, in another shape than triage: a multi-field extraction with a
categorical field (``intent``, six classes), a boolean (``urgent``), a nested object (``order``:
id, product, quantity) and a free-text ``summary``. Deterministic (seeded), written by the project
(nothing of it comes from elsewhere): ``python suites/returns/make_data.py`` rewrites the same file.

The wording is assembled from independent pools (opening, request, detail, context, urgency, closing) so
that no two messages are near duplicates (``harness lint`` checks it), and the extraction is a
function of the slots, so every label is right by construction.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SYSTEM = "You read a shop customer's message and reply only with JSON: intent, urgent, order {id, product, quantity}, summary."
N_EXAMPLES = 320
SEED = 7

PRODUCTS = ["desk lamp", "kettle", "rain jacket", "yoga mat", "coffee grinder", "phone case", "bike helmet",
            "wool blanket", "office chair", "blender", "hiking boots", "backpack", "bluetooth speaker", "toaster",
            "frying pan", "table fan", "garden hose", "travel mug", "keyboard", "monitor stand", "water bottle",
            "bath towel set", "alarm clock", "picture frame", "cutting board", "air purifier", "tent", "sleeping bag",
            "electric toothbrush", "hair dryer"]
OPENINGS = ["Hi,", "Hello there.", "Good morning!", "Hey team,", "Dear customer service,", "Hi again,", "Evening,",
            "Quick question.", "", "Hello,", "To whom it may concern:", "Hiya,"]
CLOSINGS = ["Thanks!", "Cheers, {name}", "Regards, {name}", "Thank you in advance.", "", "Best, {name}",
            "Let me know what you need from me.", "Appreciate it.", "- {name}", "Many thanks."]
NAMES = ["Ana", "Bo", "Chidi", "Dana", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kemal", "Lena", "Mira",
         "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
REQUESTS = {
    "refund": ["I would like my money back for the {qty_word} {product} on order {oid}.",
               "Please refund order {oid}; I am returning {qty_word} {product}.",
               "Can I get a refund for {qty_word} {product} (order {oid})?",
               "Order {oid}: {qty_word} {product}, I want to return it for a full refund.",
               "I'm sending back {qty_word} {product} from order {oid} and need the payment reversed."],
    "replacement": ["The {product} from order {oid} arrived broken, please send a new one ({qty_word} in total).",
                    "Could you swap the {qty_word} {product} in order {oid} for working ones?",
                    "Order {oid} had {qty_word} {product} with a cracked part; I'd like a replacement, not a refund.",
                    "Please exchange {qty_word} {product} from order {oid}, it doesn't work.",
                    "My {product} (order {oid}, {qty_word}) is faulty. A replacement would be great."],
    "tracking": ["Where is my order {oid}? It has {qty_word} {product} in it.",
                 "The tracking page for order {oid} hasn't moved in days ({qty_word} {product}).",
                 "Can you tell me when order {oid} with {qty_word} {product} will arrive?",
                 "Has order {oid} shipped yet? I ordered {qty_word} {product}.",
                 "No delivery update on {oid}, the {qty_word} {product} was due last week."],
    "cancellation": ["Please cancel order {oid} ({qty_word} {product}) before it ships.",
                     "I ordered {qty_word} {product} by mistake, order {oid}; cancel it please.",
                     "Cancel {oid} please, I no longer need the {qty_word} {product}.",
                     "Is it too late to call off order {oid}? It's {qty_word} {product}.",
                     "I changed my mind about order {oid} for {qty_word} {product}; please stop it."],
    "address_change": ["Order {oid} ({qty_word} {product}) needs to go to my new address instead.",
                       "I moved last week; please update the delivery address on {oid} for the {qty_word} {product}.",
                       "Can you redirect order {oid} with {qty_word} {product} to my office?",
                       "Wrong street on order {oid}! The {qty_word} {product} should ship to a different address.",
                       "Please change where order {oid} is delivered, it contains {qty_word} {product}."],
    "warranty": ["The {product} I bought last year (order {oid}, {qty_word}) stopped working; is it under warranty?",
                 "Warranty claim for order {oid}: {qty_word} {product} failed after eight months.",
                 "Does the guarantee cover my {product}? Order {oid}, {qty_word}, it broke after normal use.",
                 "I'd like to make a warranty claim on {qty_word} {product} from order {oid}.",
                 "My {product} from order {oid} ({qty_word}) died within the guarantee period."],
}
DETAILS = ["The box was already open when it came.", "I still have the original packaging.",
           "My neighbour signed for the parcel.", "I paid with a gift card.", "It was a birthday present.",
           "I can send photos if that helps.", "This is the second time this has happened.",
           "The courier left it at the door in the rain.", "I ordered through the app.", "", "",
           "Your chat bot could not help me.", "I have been a customer for years.", "The instructions were missing.",
           "The colour is not what the photo showed.", "I checked the FAQ first."]
CONTEXT = ["I ordered it on a {day} evening.", "It was delivered to {city}.", "I found your address on the invoice.",
           "My partner placed the order for me.", "We bought it during the {season} sale.",
           "The order confirmation came from {city}.", "I've tried calling twice on {day}.",
           "I bought it together with a few other things.", "The parcel came on {day}.",
           "I live in {city}, if that matters.", "It was my first order with you.", "I used express shipping."]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CITIES = ["Leeds", "Porto", "Graz", "Utrecht", "Lyon", "Aarhus", "Bergen", "Cork", "Ghent", "Turin", "Brno", "Malmo"]
SEASONS = ["spring", "summer", "autumn", "winter", "Black Friday"]
URGENT = ["I need this sorted by tomorrow.", "This is urgent, please hurry.", "Please treat this as a priority.",
          "I'm leaving the country on Friday, so time matters.", "ASAP please, it's a gift for this weekend."]
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
SUMMARY = {"refund": "wants a refund", "replacement": "wants a replacement", "tracking": "asks where the delivery is",
           "cancellation": "wants the order cancelled", "address_change": "wants the delivery address changed",
           "warranty": "makes a warranty claim"}


def example(rng: random.Random, intent: str, serial: int) -> dict[str, object]:
    """One chat example of ``intent``; ``serial`` keeps order ids unique."""
    product, qty = rng.choice(PRODUCTS), rng.choice([1, 1, 1, 2, 2, 3, 4])
    oid = f"{rng.choice('ABCDEFGHJKMNPRSTUVWXYZ')}{10000 + serial * 37 + rng.randrange(37):05d}"
    urgent = rng.random() < 0.3
    words = {"product": product, "oid": oid, "qty_word": NUMBER_WORDS[qty] if qty > 1 else "a",
             "name": rng.choice(NAMES), "day": rng.choice(DAYS), "city": rng.choice(CITIES),
             "season": rng.choice(SEASONS)}
    middle = [rng.choice(DETAILS), rng.choice(CONTEXT).format(**words)]
    rng.shuffle(middle)
    parts = [rng.choice(OPENINGS), rng.choice(REQUESTS[intent]).format(**words), *middle,
             rng.choice(URGENT) if urgent else "", rng.choice(CLOSINGS).format(**words)]
    summary = f"Customer {SUMMARY[intent]} for {qty} x {product} (order {oid})" + ("; urgent." if urgent else ".")
    output = {"intent": intent, "urgent": urgent, "order": {"id": oid, "product": product, "quantity": qty},
              "summary": summary}
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": " ".join(p for p in parts if p)},
                         {"role": "assistant", "content": json.dumps(output)}]}


def examples(n: int = N_EXAMPLES, seed: int = SEED) -> list[dict[str, object]]:
    """``n`` examples, intents in uneven shares (refunds and tracking most common, as in a real inbox)."""
    rng = random.Random(seed)
    intents = list(REQUESTS)
    weights = [0.25, 0.15, 0.25, 0.12, 0.1, 0.13]
    return [example(rng, rng.choices(intents, weights)[0], i) for i in range(n)]


def main() -> None:
    out = Path(__file__).resolve().parent / "data" / "returns.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(e) + "\n" for e in examples()), encoding="utf-8")
    print(f"wrote {out} ({N_EXAMPLES} examples)")


if __name__ == "__main__":
    main()
