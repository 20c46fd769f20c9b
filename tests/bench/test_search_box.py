"""The search-box harness: the inputs a debounced box sends, and both passes against a real
server on loopback."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from bench import search_box


def test_typing_session_sends_every_few_latin_characters_and_the_whole_input():
    session = search_box.typing_session("  reset   my password  ")
    assert session[0] == "re" and session[-1] == "reset my password"
    assert len(session) == len(set(session))  # no input twice
    assert all(session[-1].startswith(q) for q in session)
    assert len(session) <= len("reset my password") // search_box.STEP + 2


def test_typing_session_sends_every_chinese_character_and_stops_at_max_chars():
    assert search_box.typing_session("钱包密码忘了") == ["钱包", "钱包密", "钱包密码", "钱包密码忘",
                                                   "钱包密码忘了"]
    long = search_box.typing_session("x" * 100)
    assert max(len(q) for q in long) == search_box.MAX_CHARS


def test_sessions_from_eval_keep_both_languages():
    sessions = search_box.sessions_from_eval(10)
    assert len(sessions) == 10 and all(sessions)
    assert sum(bool(search_box.HAN.search(s[-1])) for s in sessions) == 5


def test_measure_replays_every_input_once(tiny_server):
    sessions = [["ab", "abcd"], ["钱包", "钱包密"], ["wal", "walle", "wallet"]]
    r = search_box.measure(tiny_server.url, sessions, clients=2, k=4)
    assert (r["requests"], r["errors"], r["concurrency"]) == (7, 0, 2)
    assert {"p50_ms", "p90_ms", "p99_ms", "max_ms", "rps"} <= set(r)
    sent = [parse_qs(urlsplit(s.path).query) for s in tiny_server.seen]
    assert sorted(q["q"][0] for q in sent) == sorted(q for s in sessions for q in s)
    assert {q["k"][0] for q in sent} == {"4"}


def test_main_measures_a_running_server_twice_and_writes_json(tiny_server, tmp_path, capsys):
    out = tmp_path / "search.json"
    code = search_box.main(["--url", tiny_server.url, "--sessions", "4", "--clients", "2",
                            "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "index v-test, 2 articles, model tiny" in printed and "closed loop" in printed
    assert "first pass (caches empty)" in printed and "second pass (caches warm)" in printed
    report = json.loads(out.read_text("utf-8"))
    inputs = report["inputs"]
    assert report["sessions"] == 4 and report["cold"]["requests"] == inputs
    assert report["warm"]["requests"] == inputs and report["machine"]["cores"] >= 1
    assert len([s for s in tiny_server.seen if s.path.startswith("/search")]) == 2 * inputs
