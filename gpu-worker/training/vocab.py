"""The fixed vocabulary of the shapes world (../../../shared/SHAPES_WORLD.md) and its tokenizer.

The same list builds the fixture and the shipped model, so token ids agree everywhere. Order is
part of the contract: append new words at the end, never reorder.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]  # ids 0..3
PAD, BOS, EOS, UNK = 0, 1, 2, 3

COLORS = ["red", "green", "blue", "yellow", "orange", "purple", "cyan", "white"]
SHAPES = ["circle", "square", "triangle"]
SLOTS = ["left", "middle", "right"]

WORDS = (
    [",", "?", ":", "."]
    + ["a", "an", "the", "and", "on", "in", "of", "to", "is", "are", "there", "it", "this", "what",
       "how", "many", "where", "which", "who", "not", "no", "yes", "does", "nothing"]
    + COLORS
    + SHAPES
    + ["circles", "squares", "triangles"]
    + SLOTS
    + ["color", "colors", "shape", "shapes", "object", "objects", "image"]
    + ["zero", "one", "two", "three", "four"]
    # prompts
    + ["question", "answer", "caption", "hypothesis", "premise", "label", "because", "summarize",
       "describe"]
    # visual entailment labels and explanations
    + ["entailment", "contradiction", "neutral", "show", "shows", "made", "wood", "metal", "plastic",
       "glass", "paper", "heavy", "light", "hot", "cold", "soft", "hard", "belongs", "child",
       "teacher", "owns", "weight", "temperature", "material", "owner", "its", "feels", "new", "old"]
)

TOKENS: List[str] = SPECIALS + WORDS
assert len(set(TOKENS)) == len(TOKENS), "duplicate vocabulary entry"
VOCAB: Dict[str, int] = {t: i for i, t in enumerate(TOKENS)}
VOCAB_SIZE = len(TOKENS)

# the HF Whitespace pre-tokenizer pattern
_PRE = re.compile(r"\w+|[^\w\s]+")


def encode(text: str) -> List[int]:
    """Lowercase + Whitespace pre-tokenizer + WordLevel, exactly as tokenizer.json does it."""
    return [VOCAB.get(w, UNK) for w in _PRE.findall(text.lower())]


def decode(ids: List[int]) -> str:
    """Join with a space except before , ? : . (the runtime's rule); specials dropped."""
    out = ""
    for i in ids:
        if i < len(SPECIALS):
            continue
        w = TOKENS[i]
        if out and w not in (",", "?", ":", "."):
            out += " "
        out += w
    return out


def tokenizer_json() -> dict:
    """A Hugging Face tokenizers `tokenizer.json` (WordLevel, Whitespace, Lowercase)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(SPECIALS)
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "<unk>"},
    }


def write_tokenizer(path: str) -> None:
    with open(path, "w") as f:
        json.dump(tokenizer_json(), f, indent=1, ensure_ascii=False)
        f.write("\n")
