"""The fixed golden sentence list shared by every reference script.

Chosen to exercise the tokenizer and the encoder: plain English, accents, CJK, emoji,
punctuation, an unknown-token case, the empty text, and a text longer than any max length.
Never reorder or edit in place: append, then regenerate every fixture.
"""

LONG = " ".join(
    ["The quick brown fox jumps over the lazy dog while the band plays on."] * 30
)

SENTENCES = [
    "I love this movie, it was absolutely wonderful!",
    "This is the worst product I have ever bought.",
    "Café déjà vu: naïve résumé, Ünïcödé façade.",
    "東京は日本の首都です。中文也可以。",
    "Great service 😀👍 but the food was cold 🥶",
    "",
    "Hello,world!!! (test) [brackets] {braces} -- dashes... 3.14159 and $100.",
    "WIN A FREE iPhone NOW!!! Click http://example.com/win to claim your prize",
    "Wheat and corn exports rose sharply as grain prices fell in Chicago trading.",
    "  leading and trailing   spaces\tand\ttabs\nand newlines  ",
    "ṩṫṟäñġé ʍıxǝp ɹǝʇʇǝן characters \u200b zero width \u00a0 nbsp",
    LONG,
]
