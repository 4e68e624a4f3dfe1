#!/usr/bin/env python3
"""packs-bundle.py - build the starter packs that bin/engram embeds (spec/api.md §7.7).

Usage: scripts/packs-bundle.py OUT [ROOT]

Writes OUT: one JSON object per line, one line per pack, in the order GET
/admin/memory/starter-packs lists them:
    {"pack_id", "kind", "manifest": {...}, "episodes": [...], "memories": [...]}
src/service/packs_data.S embeds the file and src/service/packs.c reads it.

- statewave-support-agent (kind support_docs) is Engram's own documentation: README.md and
  docs/*.md, split at their headings; each section becomes one episode (the section's text)
  and one memory (its opening paragraph, kind episode_summary, citing the episode). Its
  version is ENGRAM_VERSION plus a hash of the text, so a reseed sees when the docs changed.
- every directory packs/<pack_id>/ (manifest.json, episodes.jsonl, memories.jsonl) is a
  demo_agent pack written by hand.

Every pack is checked here (manifest format and counts, records' JSON), so a broken pack
fails the build instead of reaching the binary.
"""

import glob
import hashlib
import json
import os
import re
import sys

FORMAT = "statewave-starter-pack"
SUPPORT_ID = "statewave-support-agent"
DOCS_CREATED = "2026-01-01T00:00:00Z"
SECTION_MIN = 40        # characters of body below which a heading's section is skipped
SUMMARY_MAX = 700       # characters of a memory's content


def engram_version(root):
    text = open(os.path.join(root, "src", "util", "version.h")).read()
    return re.search(r'#define ENGRAM_VERSION "([^"]+)"', text).group(1)


def sections(path, text):
    """(heading path, body) of each heading's section, outside code fences."""
    out, stack, body, fence = [], [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(#{1,4})\s+(.*)$", line)
        if m:
            out.append((" > ".join(t for _, t in stack), "\n".join(body).strip()))
            level = len(m.group(1))
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, m.group(2).strip())]
            body = []
        else:
            body.append(line)
    out.append((" > ".join(t for _, t in stack), "\n".join(body).strip()))
    return [(h or os.path.basename(path), b) for h, b in out if len(b) >= SECTION_MIN]


def opening(body):
    """The section's first paragraph that is prose, cut at SUMMARY_MAX."""
    for para in re.split(r"\n\s*\n", body):
        p = para.strip()
        if p and not p.startswith(("```", "|", "<")):
            p = re.sub(r"\s+", " ", p)
            return p if len(p) <= SUMMARY_MAX else p[:SUMMARY_MAX - 1].rstrip() + "…"
    return re.sub(r"\s+", " ", body)[:SUMMARY_MAX]


def support_pack(root):
    files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    episodes, memories, digest = [], [], hashlib.sha256()
    for path in files:
        rel = os.path.relpath(path, root)
        text = open(path, encoding="utf-8").read()
        digest.update(rel.encode() + b"\0" + text.encode() + b"\0")
        for n, (heading, body) in enumerate(sections(rel, text)):
            eid = "%s#%d" % (rel, n)
            episodes.append({
                "id": eid, "source": "docs", "type": "doc_section", "created_at": DOCS_CREATED,
                "payload": {"text": "%s\n\n%s" % (heading, body), "title": heading, "path": rel},
                "metadata": {"doc_path": rel, "heading": heading},
                "provenance": {"source": "engram-docs", "path": rel}})
            memories.append({
                "kind": "episode_summary", "content": "%s (%s): %s" % (heading, rel, opening(body)),
                "summary": "%s (%s)" % (heading, rel), "confidence": 0.9,
                "valid_from": DOCS_CREATED, "source_episode_ids": [eid],
                "metadata": {"doc_path": rel, "heading": heading}})
    manifest = {
        "format": FORMAT, "pack_id": SUPPORT_ID, "display_name": "Engram support docs",
        "description": "Engram's own documentation (README and docs/), one episode and one "
                       "memory per section, so a support agent built on Engram can answer "
                       "questions about Engram.",
        "version": "%s+docs.%s" % (engram_version(root), digest.hexdigest()[:12]),
        "created_at": DOCS_CREATED, "subject_id_suggestion": "statewave-support-docs",
        "episode_count": len(episodes), "memory_count": len(memories), "source_count": 0,
        "tags": ["support", "docs", "engram"]}
    return {"pack_id": SUPPORT_ID, "kind": "support_docs", "manifest": manifest,
            "episodes": episodes, "memories": memories}


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def demo_pack(directory):
    pack_id = os.path.basename(directory)
    manifest = json.load(open(os.path.join(directory, "manifest.json"), encoding="utf-8"))
    episodes = jsonl(os.path.join(directory, "episodes.jsonl"))
    memories = jsonl(os.path.join(directory, "memories.jsonl"))
    return {"pack_id": pack_id, "kind": "demo_agent", "manifest": manifest,
            "episodes": episodes, "memories": memories}


def check(pack):
    m, pid = pack["manifest"], pack["pack_id"]
    problems = []
    if m.get("format") != FORMAT:
        problems.append("format is not %r" % FORMAT)
    if m.get("pack_id") != pid:
        problems.append("pack_id %r is not the directory name" % m.get("pack_id"))
    for key in ("display_name", "description", "version", "created_at", "subject_id_suggestion"):
        if not isinstance(m.get(key), str) or not m[key]:
            problems.append("%s must be a non-empty string" % key)
    if m.get("episode_count") != len(pack["episodes"]):
        problems.append("episode_count %r but %d episodes" % (m.get("episode_count"), len(pack["episodes"])))
    if m.get("memory_count") != len(pack["memories"]):
        problems.append("memory_count %r but %d memories" % (m.get("memory_count"), len(pack["memories"])))
    ids = {e.get("id") for e in pack["episodes"]}
    for i, mem in enumerate(pack["memories"]):
        for sid in mem.get("source_episode_ids", []):
            if sid not in ids:
                problems.append("memories[%d] cites unknown episode %r" % (i, sid))
    if problems:
        sys.exit("packs-bundle: pack %r: %s" % (pid, "; ".join(problems)))


def main():
    out = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..")
    packs = [support_pack(root)]
    packs += [demo_pack(d) for d in sorted(glob.glob(os.path.join(root, "packs", "*")))
              if os.path.isdir(d)]
    for p in packs:
        check(p)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for p in packs:
            f.write(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
