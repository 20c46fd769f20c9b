"""KB loading and validation: every error case names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.errors import KBValidationError
from assistant.knowledge.kb import content_hash, load_kb
from tests.conftest import TINY, article_text, write_kb


def _problems(kb: Path) -> list[str]:
    with pytest.raises(KBValidationError) as info:
        load_kb(kb)
    return [str(p) for p in info.value.problems]


def _write(kb: Path, lang: str, name: str, text: str) -> Path:
    (kb / lang).mkdir(parents=True, exist_ok=True)
    path = kb / lang / name
    path.write_text(text, encoding="utf-8")
    return path


def test_tiny_kb_loads_with_both_languages(tmp_path):
    kb = load_kb(write_kb(tmp_path / "kb"))
    assert len(kb.articles) == 2 * len(TINY)
    assert {a.lang for a in kb.articles} == {"en", "zh"}
    assert kb.get("stolen-funds", "zh").handoff is True
    assert kb.get("tx-failed", "zh").title == "转账失败的原因"
    assert len(kb.out_of_scope) == 10
    assert kb.warnings == ()


def test_bad_yaml_names_file_and_line(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "broken.md", "---\nid: broken\ntitle: [unclosed\n---\nbody\n")
    (msg,) = _problems(kb)
    assert "en/broken.md" in msg and "invalid YAML" in msg and "line" in msg


def test_missing_front_matter(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "plain.md", "just text\n")
    (msg,) = _problems(kb)
    assert "plain.md" in msg and "front matter" in msg


@pytest.mark.parametrize("field", ["id", "title", "category", "lang", "questions"])
def test_missing_required_field(tmp_path, field):
    kb = write_kb(tmp_path / "kb")
    text = article_text("new-one", "account", "en", "T", ["a b", "c d", "e f"], "Body")
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(f"{field}:") and
                     not (field == "questions" and line.startswith("  - ")))
    _write(kb, "en", "new-one.md", text + "\n")
    msgs = _problems(kb)
    assert any("new-one.md" in m and f"field '{field}'" in m and "missing" in m for m in msgs)


def test_unknown_category_lists_allowed_values(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "fees.md", article_text("fees", "fee", "en", "Fees", ["a", "b", "c"], "B"))
    (msg,) = [m for m in _problems(kb) if "fees.md" in m]
    assert "field 'category'" in msg and "'fee'" in msg and "transaction" in msg


def test_duplicate_id_in_one_language(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "copy.md",
           article_text("tx-failed", "transaction", "en", "Copy", ["x y", "y z", "z w"], "B"))
    msgs = _problems(kb)
    assert any("duplicate id 'tx-failed'" in m and "copy.md" in m for m in msgs)


def test_too_few_questions(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "short.md", article_text("short", "how_to", "en", "S", ["one", "two"], "B"))
    msgs = _problems(kb)
    assert any("short.md" in m and "field 'questions'" in m and "at least 3" in m for m in msgs)


def test_unknown_placeholder_and_broken_braces(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "ph.md", article_text("ph", "how_to", "en", "P", ["a", "b", "c"],
                                           "Send {amount} to {wallet_name}."))
    _write(kb, "en", "br.md", article_text("br", "how_to", "en", "B", ["a", "b", "c"],
                                           "Broken {chain"))
    msgs = _problems(kb)
    assert any("ph.md" in m and "{wallet_name}" in m for m in msgs)
    assert any("br.md" in m and "braces" in m for m in msgs)


def test_lang_must_match_folder(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "zh", "wrong.md", article_text("wrong", "how_to", "en", "W", ["a", "b", "c"], "B"))
    assert any("wrong.md" in m and "field 'lang'" in m for m in _problems(kb))


def test_all_problems_reported_at_once(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "en", "a.md", article_text("a", "nope", "en", "A", ["x", "y", "z"], "B"))
    _write(kb, "en", "b.md", article_text("b", "how_to", "en", "B", ["x"], "B"))
    _write(kb, "zh", "c.md", "---\nid: [\n---\n")
    msgs = _problems(kb)
    assert {"a.md", "b.md", "c.md"} <= {m.split(":")[1].strip().split("/")[-1] for m in msgs}


def test_missing_counterpart_is_a_warning_not_an_error(tmp_path):
    kb_dir = write_kb(tmp_path / "kb")
    (kb_dir / "zh" / "tx-failed.md").unlink()
    kb = load_kb(kb_dir)
    assert any("no zh counterpart" in str(w) for w in kb.warnings)


def test_counterparts_must_agree_on_category(tmp_path):
    kb = write_kb(tmp_path / "kb")
    _write(kb, "zh", "tx-failed.md",
           article_text("tx-failed", "security", "zh", "失败", ["一", "二", "三"], "正文"))
    assert any("tx-failed.md" in m and "field 'category'" in m for m in _problems(kb))


def test_content_hash_changes_with_any_edit(tmp_path):
    kb = write_kb(tmp_path / "kb")
    before = content_hash(kb)
    path = kb / "en" / "tx-failed.md"
    path.write_text(path.read_text("utf-8") + "More.\n", "utf-8")
    assert content_hash(kb) != before


def test_bad_out_of_scope_file(tmp_path):
    kb = write_kb(tmp_path / "kb")
    (kb / "out_of_scope.yaml").write_text("- just a list\n", "utf-8")
    assert any("out_of_scope.yaml" in m and "questions" in m for m in _problems(kb))


def test_one_language_kb_has_no_counterpart_warnings(tmp_path):
    kb_dir = write_kb(tmp_path / "kb")
    for p in (kb_dir / "zh").glob("*.md"):
        p.unlink()
    assert load_kb(kb_dir).warnings == ()


def test_custom_categories(tmp_path):
    kb = tmp_path / "kb"
    (kb / "en").mkdir(parents=True)
    (kb / "categories.yaml").write_text("categories: [cards, loans]\n", "utf-8")
    (kb / "en" / "a.md").write_text(article_text("a", "cards", "en", "A", ["x", "y", "z"], "B"))
    (kb / "en" / "b.md").write_text(article_text("b", "account", "en", "B", ["x", "y", "z"], "B"))
    msgs = _problems(kb)
    assert any("b.md" in m and "'account' is not one of cards, loans" in m for m in msgs)
