"""Strings and regular expressions: build text, search, split, replace and format."""

import re

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
EMAIL = re.compile(r"\b([a-z]+)\.([a-z]+)@([a-z]+)\.(?:org|com)\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def bench():
    lines = []
    for i in range(6000):
        w1, w2 = WORDS[i % 12], WORDS[(i * 7) % 12]
        lines.append(f"{i:05d} {w1.title()} {w2.upper()} {w1}.{w2}@example.{'org' if i % 3 else 'com'} value={i * 1.5:.2f} delta=-{i % 17}")
    text = "\n".join(lines)
    emails = EMAIL.findall(text)
    numbers = sum(float(n) for n in NUMBER.findall(text))
    swapped = re.sub(r"(\w+)\.(\w+)@", r"\2.\1@", text)
    words = {}
    for word in text.lower().split():
        word = word.strip(".=-0123456789")
        if word:
            words[word] = words.get(word, 0) + 1
    padded = "|".join(s.center(12, "*") for s in WORDS * 200)
    return (len(emails), round(numbers, 2), len(swapped), len(words), padded.count("*"), text.replace("a", "A").count("A"))
