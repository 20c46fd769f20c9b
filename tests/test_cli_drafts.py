"""`assistant draft` and `assistant publish-draft` on a tiny KB copy, with the fake embedder:
a resolved ticket becomes an article through the linter and the checked build, and a
refused draft leaves the KB and the published index as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.config import Settings
from assistant.handoff.queue import NewTicket, open_queue
from assistant.knowledge import index as ix
from assistant.knowledge.kb import content_hash, load_kb
from assistant.tooling.build import build_index
from tests.conftest import write_kb
from tests.fakes import FAKE_MODEL, HashEmbedder
from tests.tooling.test_guard import _write_eval

QUESTIONS = ["my withdrawal from the exchange never arrived in my wallet",
             "the exchange shows the withdrawal as completed but nothing came",
             "withdrawal complete on the exchange, balance still zero"]


@pytest.fixture
def editor(tmp_path, monkeypatch, fake_embedder) -> Settings:
    """A KB copy with a published index, eval sets and a queue, all in tmp_path."""
    kb = write_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", fake_embedder, model_name=FAKE_MODEL)
    (tmp_path / "eval").mkdir()
    _write_eval(tmp_path / "eval" / "mini.jsonl")
    env = {"KB_DIR": kb, "INDEX_DIR": tmp_path / "index", "DATA_DIR": tmp_path / "data",
           "THRESHOLDS_FILE": tmp_path / "none.json", "EVAL_DIR": tmp_path / "eval",
           "CHECK_SETS": "mini", "MODEL": FAKE_MODEL,
           "SIGNAL_ARTICLES": json.dumps({"impersonation_scam": "fake-support",
                                          "theft_report": "stolen-funds"})}
    for name, value in env.items():
        monkeypatch.setenv(f"ASSISTANT_{name}", str(value))
    # The commands make their embedder from the settings: the fake stands in for the model.
    monkeypatch.setattr("assistant.knowledge.embedding.make_embedder",
                        lambda settings: HashEmbedder())
    return Settings()


def _ticket(settings: Settings, *, resolve: bool = True) -> str:
    queue = open_queue(None, settings.queue_path).open()
    try:
        ticket = queue.create(NewTicket(
            query="talk to a human", lang="en", reason="user asked for a person",
            category="deposit_withdrawal",
            conversation=[{"role": "user", "text": t} for t in ["hello", *QUESTIONS]]))
        if resolve:
            queue.claim(ticket.id, "alice")
            queue.reply(ticket.id, "alice", "Ask the exchange to broadcast the withdrawal.")
            queue.resolve(ticket.id, "alice", "The exchange had not broadcast it; now it has.")
    finally:
        queue.close()
    return ticket.id


def _state(settings: Settings) -> tuple[str, Path | None]:
    return content_hash(settings.kb_dir), ix.current_path(settings.index_dir)


def _drafted(settings: Settings, capsys) -> Path:
    assert main(["draft", "--", _ticket(settings)]) == 0  # `--`: an id may start with -
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == settings.data_dir / "drafts" and path.is_file()
    return path


def test_a_drafted_ticket_is_published_into_the_kb_and_the_index(editor, capsys):
    path = _drafted(editor, capsys)
    before_hash, before_index = _state(editor)
    assert main(["publish-draft", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    target = editor.kb_dir / "en" / "my-withdrawal-from-exchange-never-arrived.md"
    assert f"published {target}" in out and "from ticket" in out
    text = target.read_text("utf-8")
    assert "draft:" not in text and "source_ticket" not in text  # markers left behind
    assert "The exchange had not broadcast it; now it has." in text
    article = next(a for a in load_kb(editor.kb_dir).articles if a.path == str(target))
    assert list(article.questions) == QUESTIONS and article.category == "deposit_withdrawal"
    after_hash, after_index = _state(editor)
    assert after_hash != before_hash and after_index != before_index
    assert article.id in (after_index / "articles.json").read_text("utf-8")


def test_a_draft_with_too_few_questions_is_refused_naming_the_field(editor, capsys):
    path = _drafted(editor, capsys)
    text = path.read_text("utf-8")
    path.write_text(text.replace(f'  - "{QUESTIONS[1]}"\n', "").replace(
        f'  - "{QUESTIONS[2]}"\n', ""), "utf-8")
    before = _state(editor)
    assert main(["publish-draft", str(path)]) == 2
    captured = capsys.readouterr()
    assert f"error: {path}: field 'questions': has 1, needs at least 3 phrasings" \
        in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert _state(editor) == before


def test_a_draft_the_checked_build_refuses_is_removed_again(editor, capsys):
    """Questions another article already has: the full linter (in the checked build) finds
    the duplicates; the copied file goes, the KB and `current` are as they were."""
    path = _drafted(editor, capsys)
    text = path.read_text("utf-8")
    for mine, theirs in zip(QUESTIONS, ["how do I contact support", "support email address",
                                        "where can I reach customer service"]):
        text = text.replace(f'"{mine}"', f'"{theirs}"')
    path.write_text(text, "utf-8")
    before = _state(editor)
    assert main(["publish-draft", str(path), "--quiet"]) == 1
    out = capsys.readouterr().out
    target = editor.kb_dir / "en" / "my-withdrawal-from-exchange-never-arrived.md"
    assert "duplicate" in out and f"removed {target} again" in out
    assert "the knowledge base and the published index are unchanged" in out
    assert not target.exists() and _state(editor) == before
    assert sorted(p.name for p in (editor.index_dir / "versions").iterdir()) == \
        [before[1].name]  # the refused candidate is not left behind


def test_drafting_an_unresolved_ticket_is_a_clean_error(editor, capsys):
    ticket_id = _ticket(editor, resolve=False)
    assert main(["draft", "--", ticket_id]) == 1
    err = capsys.readouterr().err
    assert "only a resolved ticket can be drafted" in err and "Traceback" not in err
    assert not (editor.data_dir / "drafts").exists()
