"""What a language declares: its `Language` value (see the registry in `__init__`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Keys every language's `messages` must define (the fixed replies and the agent's lines).
MESSAGE_KEYS: tuple[str, ...] = (
    "decline", "clarify", "handoff_human", "handoff_low", "handoff_article", "ticket",
    "ticket_claimed", "ticket_existing", "needs", "needs_followup", "details_added",
    "ticket_failed", "secret", "scam", "theft", "handoff_urgent", "theft_check", "exposed",
    "handoff_query", "turn_answered", "turn_clarified", "turn_declined",
    # The email channel: subjects, acknowledgements, the footers of answers and replies.
    "mail_subject", "mail_subject_empty", "mail_ack", "mail_needs", "mail_choices",
    "mail_answer_end", "mail_reply_end", "mail_resolved", "mail_rating", "mail_reopened",
)

#: Keys of every language's `canned_replies`: the agent console's quick replies, in the order
#: it shows them. Placeholders: {ticket_id}, {support_email}.
CANNED_KEYS: tuple[str, ...] = (
    "greeting", "ask_tx_hash", "checking_chain", "never_share_secret", "closing",
)


@dataclass(frozen=True)
class Language:
    """One language the assistant reads and answers in.

    `script` is a character class (regex) of the characters that identify the language when
    its script is its own (Han for Chinese); a language written in Latin letters leaves it
    empty and lists `hint_words` instead (frequent words no other registered language uses).
    The search box reads the same two: a query in the script, or with enough hint words (or
    words only this language's articles use), gets results in this language on any page.
    """

    code: str                                   # the folder under kb/ and the API's `lang`
    name: str                                   # the language's own name, for menus
    messages: Mapping[str, str]                 # MESSAGE_KEYS -> wording ({placeholders})
    detail_labels: Mapping[str, str]            # detail field -> how it is asked for
    placeholder_defaults: Mapping[str, str]     # article placeholder -> wording when missing
    category_labels: Mapping[str, str]          # KB category -> name in the pages
    support_hours: str                          # default for {support_hours}
    script: str = ""                            # regex class, e.g. r"[\u3400-\u9fff]"
    hint_words: frozenset[str] = frozenset()    # Latin-script detection hints
    list_separator: str = ", "                  # between listed details
    list_last: str = " and "                    # before the last one
    human_request: tuple[str, ...] = ()         # regexes: the user asks for a person
    human_alone: tuple[str, ...] = ()           # whole-message words that ask for a person
    filler: tuple[str, ...] = ()                # regexes: courtesy words, not a problem
    theft_confirm: tuple[str, ...] = ()         # whole replies that confirm a theft
    skip_words: tuple[str, ...] = ()            # whole replies that decline to give details
    thanks: tuple[str, ...] = ()                # whole replies that only say thank you
    bip39: tuple[str, ...] = ()                 # python-mnemonic word list names
    follows_user_script: bool = False           # replies converted to the user's script
    cjk_typography: bool = False                # full-width punctuation rules (linter)
    canned_replies: Mapping[str, str] = field(default_factory=dict)  # CANNED_KEYS -> text
    extra: Mapping[str, str] = field(default_factory=dict)

    def message(self, key: str, **values: object) -> str:
        return self.messages[key].format(**values)

    def join(self, items: list[str]) -> str:
        """Items as a sentence lists them ("a, b and c"; "甲、乙、丙")."""
        if len(items) <= 1:
            return "".join(items)
        return self.list_separator.join(items[:-1]) + self.list_last + items[-1]
