#!/usr/bin/env python3
"""Writes a synthetic, Wikipedia-like passage corpus and queries for the BM25 benchmark.

Deterministic for a given (--passages, --queries, --seed) with any Python 3: only `random.Random`
with a seed is used. Output, in --out (default $ZEROSEARCH_CACHE/bm25-bench or
~/.cache/zerosearch/bm25-bench):

    corpus-<P>-seed<S>.jsonl          {"id": 0, "title": "...", "text": "..."} per line
    queries-<P>-<Q>-seed<S>.jsonl     {"query": "...", "source": <passage id>} per line

Files already there are reused. Prints one JSON object: {"corpus", "queries", "passages",
"queries_count", "seconds"}.

The text: articles of 1-5 passages sharing a title (an invented entity name), 30-60 words per
passage, made of a Zipf-Mandelbrot distributed vocabulary of 40k invented words (3 % with
accents, to exercise Unicode lower-casing), English function words at about their real share
(some in Lucene's stop list, some not), other entities, years, and punctuation. A query names an
article's entity or 2-4 content words of one of its passages in a question template, so most
queries have a clearly best passage but also partial matches all over the corpus.
"""
import argparse
import json
import os
import random
import sys
import time
from itertools import accumulate

SYLLABLES = [c + v for c in "b c d f g h k l m n p r s t v z br dr gr kr st th sh ch tr".split()
             for v in ["a", "e", "i", "o", "u", "ai", "ou", "ei"]]
ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü"}
FUNCTION_WORDS = ("the the the the of of of and and in in to a a is was was for on with as by at from his "
                  "her which that it an are were be this its also after first new one two has had their "
                  "during into not or but who").split()
TEMPLATES = ["what is {}", "who is {}", "when was {} founded", "where is {} located", "{}",
             "which {} is the oldest", "how many {} are there", "tell me about {}"]


def word(rng, syllables):
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def make_vocabulary(rng, size):
    words, seen = [], set()
    while len(words) < size:
        w = word(rng, rng.choice([1, 2, 2, 2, 3, 3, 4]))
        if rng.random() < 0.03:
            i = rng.randrange(len(w))
            w = w[:i] + ACCENTS.get(w[i], w[i]) + w[i + 1:]
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def make_entities(rng, size):
    return [f"{word(rng, 2).capitalize()} {word(rng, rng.choice([2, 3])).capitalize()}" for _ in range(size)]


def passage_text(rng, title, vocab, cum, entities):
    words = []
    target = rng.randint(30, 60)
    while len(words) < target:
        sentence = []
        for _ in range(rng.randint(8, 15)):
            r = rng.random()
            if r < 0.40:
                sentence.append(rng.choice(FUNCTION_WORDS))
            elif r < 0.46:
                sentence.append(title if rng.random() < 0.6 else rng.choice(entities))
            elif r < 0.48:
                sentence.append(str(rng.randint(1800, 2020)))
            else:
                w = rng.choices(vocab, cum_weights=cum)[0]
                if rng.random() < 0.02:
                    w += "-" + rng.choices(vocab, cum_weights=cum)[0]
                sentence.append(w)
            if rng.random() < 0.06:
                sentence[-1] += ","
        if rng.random() < 0.1:
            sentence[-1] = f"({sentence[-1]})"
        sentence[0] = sentence[0][:1].upper() + sentence[0][1:]
        words.extend(sentence)
        words[-1] += "."
    return " ".join(words)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    default_out = os.path.join(os.environ.get("ZEROSEARCH_CACHE", os.path.expanduser("~/.cache/zerosearch")), "bm25-bench")
    p.add_argument("--out", default=default_out)
    args = p.parse_args()

    os.makedirs(args.out, exist_ok=True)
    corpus_path = os.path.join(args.out, f"corpus-{args.passages}-seed{args.seed}.jsonl")
    queries_path = os.path.join(args.out, f"queries-{args.passages}-{args.queries}-seed{args.seed}.jsonl")
    start = time.perf_counter()
    if not (os.path.exists(corpus_path) and os.path.exists(queries_path)):
        rng = random.Random(args.seed)
        vocab = make_vocabulary(rng, 40_000)
        cum = list(accumulate(1.0 / (rank + 2.7) ** 1.07 for rank in range(len(vocab))))
        entities = make_entities(rng, max(args.passages // 3, 10))
        passages = []  # (title, text) of every passage, kept for the queries
        with open(corpus_path + ".tmp", "w", encoding="utf-8") as f:
            article = 0
            while len(passages) < args.passages:
                title = entities[article % len(entities)]
                article += 1
                for _ in range(min(rng.randint(1, 5), args.passages - len(passages))):
                    text = passage_text(rng, title, vocab, cum, entities)
                    f.write(json.dumps({"id": len(passages), "title": title, "text": text}, ensure_ascii=False) + "\n")
                    passages.append((title, text))
        os.replace(corpus_path + ".tmp", corpus_path)
        with open(queries_path + ".tmp", "w", encoding="utf-8") as f:
            for _ in range(args.queries):
                source = rng.randrange(len(passages))
                title, text = passages[source]
                if rng.random() < 0.4:
                    subject = title
                else:
                    content = [w.strip(",.()") for w in text.split() if w.lower().strip(",.()") not in FUNCTION_WORDS]
                    subject = " ".join(rng.sample(content, min(len(content), rng.randint(2, 4))))
                query = rng.choice(TEMPLATES).format(subject)
                f.write(json.dumps({"query": query, "source": source}, ensure_ascii=False) + "\n")
        os.replace(queries_path + ".tmp", queries_path)
    print(json.dumps({"corpus": corpus_path, "queries": queries_path, "passages": args.passages,
                      "queries_count": args.queries, "seconds": time.perf_counter() - start}))
    print(f"corpus ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
