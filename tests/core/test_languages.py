"""The language registry, and a third language added as data alone.

`SPANISH` is declared here and registered for the duration of a test: with `kb/es/` beside
`kb/en/`, the KB loader, the detector, the decision, the wording, the settings, the API and
the CLI accept it, and nothing outside this file names it.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from assistant.cli import _parser
from assistant.core import languages
from assistant.core.config import Settings
from assistant.core.errors import ConfigError
from assistant.knowledge.kb import check_kb
from assistant.service import Assistant
from assistant.tooling.build import build_index
from assistant.understanding.redaction import PHRASE_MARK, redact
from assistant.understanding.text import detect_lang
from assistant.web.app import create_app
from tests.conftest import write_kb
from tests.fakes import FAKE_MODEL

english = languages.get("en")

SPANISH = languages.Language(
    code="es",
    name="Español",
    support_hours="las 24 horas, todos los días",
    messages={
        **{k: f"[es] {v}" for k, v in english.messages.items()},  # every key, then the ones used
        "decline": "Lo siento, solo puedo ayudarle con su billetera TokenPocket.",
        "handoff_human": "Claro, le paso con una persona de nuestro equipo de soporte.",
        "ticket": "Su número de caso es {ticket_id}; está en el puesto {position} "
                  "(espera estimada: unos {eta} min).",
        "handoff_query": "Quiero hablar con una persona",
    },
    placeholder_defaults={"chain": "la red", "tx_hash": "su hash de transacción",
                          "amount": "el importe", "token": "el token", "address": "la dirección"},
    detail_labels={"problem": "una breve descripción del problema", "chain": "la red",
                   "tx_hash": "el hash de la transacción"},
    category_labels={"account": "Cuenta y contraseña", "transaction": "Transferencias"},
    hint_words=frozenset("el la los las de mi mis por qué cómo que no es una un con para "
                         "contraseña billetera olvidé quiero".split()),
    list_separator=", ",
    list_last=" y ",
    human_request=(r"\bhablar\s+con\s+(una\s+)?(persona|agente|humano)\b",),
    human_alone=(r"agente|humano",),
    filler=(r"\b(quiero|por|favor|hola|con|una|un)\b",),
    theft_confirm=(r"me (lo )?robaron",),
    bip39=("spanish",),
)

ARTICLES = {
    "forgot-password": ("account", False, {
        "en": ("I forgot my wallet password",
               ["I forgot my wallet password", "how do I reset my password",
                "lost my password"],
               "The password is stored only on your device. Re-import with your phrase."),
        "es": ("Olvidé la contraseña de la billetera",
               ["olvidé la contraseña de mi billetera", "cómo restablezco mi contraseña",
                "no recuerdo la contraseña"],
               "La contraseña solo está en su dispositivo. Vuelva a importar la billetera."),
    }),
    "tx-failed": ("transaction", False, {
        "en": ("Why did my transaction fail",
               ["my transaction failed", "transfer failed but the fee was charged",
                "failed transaction"],
               "Check {tx_hash} on the {chain} explorer."),
        "es": ("Por qué falló mi transferencia",
               ["mi transferencia falló", "la transacción falló y me cobraron la comisión",
                "la transferencia no se completó"],
               "Busque {tx_hash} en el explorador de {chain}."),
    }),
}


@pytest.fixture
def spanish():
    with languages.registered(SPANISH) as lang:
        yield lang


@pytest.fixture
def spanish_assistant(spanish, tmp_path, fake_embedder):
    kb = write_kb(tmp_path / "kb", ARTICLES, ["qué tiempo hace hoy", "cuéntame un chiste",
                                              "what's the weather today", "tell me a joke"])
    build_index(kb, tmp_path / "index", fake_embedder, model_name=FAKE_MODEL)
    settings = Settings(kb_dir=kb, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                        model=FAKE_MODEL, thresholds_file=tmp_path / "none.json",
                        lang_thresholds={"es": {"clarify_margin": 0.01}})
    a = Assistant(settings, embedder=fake_embedder).warm_up()
    yield a
    a.close()


# ------------------------------------------------------------------ the registry


def test_built_in_languages_and_the_default():
    assert languages.codes()[:2] == ("en", "zh")
    assert languages.default().code == "en"
    assert languages.get("xx") is languages.default()
    assert languages.is_known("zh") and not languages.is_known("xx")


@pytest.mark.parametrize("lang", languages.all_languages(), ids=lambda lg: lg.code)
def test_every_built_in_language_is_complete(lang):
    assert set(languages.MESSAGE_KEYS) <= set(lang.messages)
    assert lang.bip39 and lang.category_labels and lang.detail_labels
    for text in lang.messages.values():  # every placeholder is one the service fills
        assert set(re.findall(r"{(\w+)}", text)) <= {"ticket_id", "position", "eta", "fields",
                                                      "support_email", "title"}


def test_an_incomplete_language_is_refused_naming_what_is_missing():
    broken = replace(SPANISH, messages={"decline": "no"})
    with pytest.raises(ConfigError, match="messages missing clarify"):
        languages.register(broken)
    with pytest.raises(ConfigError, match="lower-case ISO 639"):
        languages.register(replace(SPANISH, code="Spanish"))
    with pytest.raises(ConfigError, match="pattern"):
        languages.register(replace(SPANISH, human_request=("(unclosed",)))
    assert not languages.is_known("es")


def test_registered_restores_the_registry_and_the_default_cannot_go():
    before = languages.codes()
    with languages.registered(SPANISH):
        assert languages.codes() == (*before, "es")
    assert languages.codes() == before
    with pytest.raises(ConfigError, match="default"):
        languages.unregister("en")


def test_patterns_join_every_language():
    human = languages.pattern("human_request")
    assert human.search("转人工") and human.search("let me talk to a human")
    assert not human.search("quiero hablar con una persona")
    with languages.registered(SPANISH):
        assert languages.pattern("human_request").search("quiero hablar con una persona")
    assert not languages.pattern("human_request").search("quiero hablar con una persona")


def test_join_lists_as_each_language_writes_them():
    assert english.join(["a", "b", "c"]) == "a, b and c"
    assert languages.get("zh").join(["甲", "乙", "丙"]) == "甲、乙、丙"
    assert english.join(["a"]) == "a" and english.join([]) == ""


# ------------------------------------------------------------------ a third language


def test_spanish_is_detected_only_once_registered(spanish):
    assert detect_lang("¿Cómo restablezco la contraseña de mi billetera?") == "es"
    assert detect_lang("How do I reset my wallet password?") == "en"
    assert detect_lang("钱包密码忘了怎么办") == "zh"


def test_without_the_registry_entry_spanish_is_not_a_language():
    assert detect_lang("¿Cómo restablezco la contraseña de mi billetera?") == "en"
    assert "es" not in languages.codes()


def test_the_kb_loader_reads_the_new_folder(spanish, tmp_path):
    kb, problems = check_kb(write_kb(tmp_path / "kb", ARTICLES, None))
    assert not [p for p in problems if p.severity == "error"]
    assert {a.lang for a in kb.articles} == {"en", "es"}


def test_a_kb_folder_of_an_unregistered_language_is_named(tmp_path):
    _, problems = check_kb(write_kb(tmp_path / "kb", ARTICLES, None))
    assert any("folder 'es' is not one of en, zh" in str(p) for p in problems)


def test_answered_in_spanish(spanish_assistant):
    reply = spanish_assistant.answer("olvidé la contraseña de mi billetera")
    assert (reply.lang, reply.action, reply.article.id) == ("es", "answer", "forgot-password")
    assert reply.answer.startswith("La contraseña solo está en su dispositivo")


def test_declined_and_handed_over_in_spanish(spanish_assistant):
    declined = spanish_assistant.answer("cuéntame un chiste", lang="es")
    assert declined.action == "decline" and declined.answer.startswith("Lo siento")
    person = spanish_assistant.answer("quiero hablar con una persona", lang="es",
                                      session_id="s1", skip_details=True)
    assert person.action == "handoff" and "le paso con una persona" in person.answer
    assert "Su número de caso es" in person.answer
    assert spanish_assistant.queue.get(person.ticket.id)["lang"] == "es"


def test_spanish_thresholds_come_from_the_mapping(spanish_assistant):
    assert spanish_assistant._thresholds("es").margin == 0.01
    assert spanish_assistant._thresholds("en").margin == Settings.model_fields[
        "clarify_margin"].default


def test_a_spanish_recovery_phrase_is_redacted_once_registered(spanish):
    from mnemonic import Mnemonic

    phrase = Mnemonic("spanish").generate(128)
    out = redact(f"mi frase es {phrase}, gracias")
    assert PHRASE_MARK in out.text and phrase.split()[5] not in out.text
    prose = redact("olvidé la contraseña de mi billetera y no puedo abrir la aplicación")
    assert not prose.found


def test_the_api_and_the_cli_accept_the_registered_code(spanish, spanish_assistant):
    with TestClient(create_app(spanish_assistant.settings, spanish_assistant)) as client:
        ok = client.post("/answer", json={"query": "mi transferencia falló", "lang": "es"})
        assert ok.status_code == 200 and ok.json()["lang"] == "es"
        bad = client.post("/answer", json={"query": "hola", "lang": "xx"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "lang"
        assert "not one of en, zh, es" in bad.json()["error"]["message"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["AnswerRequest"]
        assert "es" in str(schema["properties"]["lang"])
        cats = client.get("/categories", params={"lang": "es"}).json()
        assert {c["label"] for c in cats["categories"]} >= {"Cuenta y contraseña"}
    assert _parser().parse_args(["ask", "--lang", "es", "hola"]).lang == "es"
