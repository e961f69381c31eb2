"""Clients nobody here wrote, against `zerosearch serve` (docs/serving.md).

Usage: serve_peer_test.py BASE_URL

The official `openai` package (chat, completions, streaming, n, seed, stop,
log-probabilities, its typed errors) and a copy of ZeroSearch's own simulator
request (`llm_agent/generation.py`: content parts, model "", an empty system
message, max_tokens 600, temperature 0.8, api_key "EMPTY"). Exits 1 naming
each failed check.
"""

import json
import sys
import urllib.error
import urllib.request

import openai

base = sys.argv[1].rstrip("/")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


client = openai.OpenAI(base_url=base + "/v1", api_key="EMPTY", max_retries=0, timeout=120)

models = client.models.list()
model = models.data[0].id
check(len(models.data) == 1 and model, f"models.list names the served model ({model})")

# ZeroSearch's simulator request, as its own code sends it.
prompt = (
    "You are the Google search engine.\nGiven a query, you need to generate five useful documents for the query.\n\n"
    "The user is trying to answer the question: \"who wrote hamlet\" whose answer is Shakespeare.\n\n"
    "Each document should contain about 30 words, and these documents should contain useful information.\n\n"
    "Query: hamlet author\n\nUseful Output:\n"
)
response = client.chat.completions.create(
    model="",
    messages=[{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "text", "text": prompt}]}],
    max_tokens=600,
    temperature=0.8,
)
choice = response.choices[0]
check(isinstance(choice.message.content, str) and len(choice.message.content) > 0, "ZeroSearch's request gets documents")
check(choice.finish_reason in ("stop", "length"), f"finish_reason {choice.finish_reason}")
check(response.usage.completion_tokens <= 600, "max_tokens 600 is honoured")
check(response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens, "usage adds up")

# Chat: n choices with one seed are reproducible; a stop string ends the text before it.
chat = dict(model=model, messages=[{"role": "user", "content": "Question: who wrote hamlet"}], max_tokens=32, temperature=1.0, seed=11)
first = client.chat.completions.create(n=2, **chat)
again = client.chat.completions.create(n=2, **chat)
texts = [c.message.content for c in first.choices]
check(len(texts) == 2 and [c.index for c in first.choices] == [0, 1], "n=2 gives two choices")
check(texts == [c.message.content for c in again.choices], "the same seed writes the same choices")
greedy = client.chat.completions.create(model=model, messages=chat["messages"], max_tokens=40, temperature=0)
words = greedy.choices[0].message.content.split(" ")
if len(words) > 3:
    stop = " " + words[2]
    stopped = client.chat.completions.create(model=model, messages=chat["messages"], max_tokens=40, temperature=0, stop=[stop])
    check(stopped.choices[0].finish_reason == "stop" and stop not in stopped.choices[0].message.content, "stop ends before the stop string")

# Chat log-probabilities.
scored = client.chat.completions.create(
    model=model, messages=chat["messages"], max_tokens=8, temperature=0, logprobs=True, top_logprobs=3
)
content = scored.choices[0].logprobs.content
check(len(content) >= 1 and all(len(t.top_logprobs) == 3 for t in content), "chat logprobs with 3 alternatives per token")
check(all(t.logprob <= 0 for t in content), "log-probabilities are ≤ 0")

# Chat streaming: the deltas add up to the greedy answer.
stream = client.chat.completions.create(
    model=model, messages=chat["messages"], max_tokens=40, temperature=0, stream=True, stream_options={"include_usage": True}
)
pieces, finish, usage = [], None, None
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.content:
            pieces.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
check("".join(pieces) == greedy.choices[0].message.content, "streamed chat deltas equal the whole answer")
check(finish in ("stop", "length") and usage is not None, "the stream ends with a finish reason and usage")

# Text completions, whole and streamed, with log-probabilities.
text = client.completions.create(model=model, prompt="The river", max_tokens=16, temperature=0, logprobs=2)
check(len(text.choices[0].logprobs.tokens) == text.usage.completion_tokens, "completion logprobs: one per token")
streamed = "".join(
    c.choices[0].text for c in client.completions.create(model=model, prompt="The river", max_tokens=16, temperature=0, stream=True)
    if c.choices
)
check(streamed == text.choices[0].text, "streamed completion equals the whole one")
batch = client.completions.create(model=model, prompt=["The river", "Question:"], max_tokens=4, temperature=0)
check(sorted(c.index for c in batch.choices) == [0, 1], "a list of prompts gives one choice each")

# Errors the client types: 400 naming the field.
try:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], max_tokens=10**6)
    check(False, "max_tokens beyond the context is refused")
except openai.BadRequestError as error:
    check(error.body.get("param") == "max_tokens", f"max_tokens beyond the context: 400, param {error.body.get('param')}")
try:
    client.chat.completions.create(model=model, messages=[])
    check(False, "empty messages are refused")
except openai.BadRequestError as error:
    check(error.body.get("param") == "messages", "empty messages: 400, param messages")

# Search-R1's retrieval client (retrieval_server.py's request) when an engine is served.
request = urllib.request.Request(
    base + "/retrieve",
    data=json.dumps({"queries": ["who wrote hamlet"], "topk": 3, "return_scores": True}).encode(),
    headers={"Content-Type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=120) as answer:
        result = json.load(answer)["result"]
        check(
            len(result) == 1 and len(result[0]) >= 1 and all("document" in d and "score" in d for d in result[0]),
            "Search-R1's /retrieve shape",
        )
except urllib.error.HTTPError as error:
    check(error.code == 404, f"/retrieve without an engine: {error.code}")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all peer checks passed")
