"""English: the default language."""

from __future__ import annotations

from assistant.core.languages.language import Language

LANGUAGE = Language(
    code="en",
    name="English",
    support_hours="24 hours a day, 7 days a week",
    messages={
        "decline": (
            "Sorry, I can only help with questions about your TokenPocket wallet: account access "
            "and backups, transfers and fees, deposits and withdrawals, security and scams, how to "
            "use the app, and how to reach support. What can I help you with?"),
        "clarify": "I want to be sure I answer the right question. Which of these is it?",
        "handoff_human": "Sure, I'm connecting you with a member of our support team.",
        "handoff_low": ("I'm not sure I have the right answer for this, so I'm passing your "
                        "question to a member of our support team."),
        "handoff_article": "I've also passed your case to a member of our support team.",
        "ticket": ("Your ticket number is {ticket_id}; you are number {position} in the queue "
                   "(estimated wait: about {eta} min). An agent will reply here. Never share your "
                   "recovery phrase or private key with anyone, including support."),
        "ticket_claimed": ("Your ticket {ticket_id} is with an agent now; they will reply here."),
        "ticket_existing": ("You already have an open ticket ({ticket_id}); I've added this "
                            "message to it."),
        "needs": ("To help the agent solve this quickly, please send {fields} in one message. "
                  "If you don't have them, reply “skip”."),
        "needs_followup": "If you can, also send {fields}: I'll add them to your ticket.",
        "details_added": "Thanks, I've added this to your ticket {ticket_id}.",
        "ticket_failed": ("I could not create a support ticket right now. Please try again in a "
                          "minute or email {support_email}."),
        "secret": ("⚠️ Your message looked like it contained a recovery phrase or private key. "
                   "It was removed and not stored. Nobody from support will ever ask for it. "
                   "Treat this wallet as compromised: create a new wallet now and move your "
                   "funds to it."),
        "scam": ("⚠️ This looks like a scam. Official support never asks for your recovery "
                 "phrase, private key or password, never messages you first, and never asks "
                 "you to send coins to verify or sync a wallet."),
        "theft": ("I'm sorry this happened. Do these steps right now, then an agent will "
                  "follow up with you urgently."),
        "handoff_urgent": "Your case is marked urgent and is at the front of the queue.",
        "theft_check": ("If funds left your wallet without you sending them, reply “stolen” "
                        "and a person will help you at once."),
        "exposed": ("⚠️ Anyone who has seen your recovery phrase or private key can take "
                    "everything in the wallet, without your password. Move your funds now:\n\n"
                    "1. In TokenPocket, create a new wallet and write its new recovery phrase "
                    "on paper.\n"
                    "2. Send everything from the old wallet to the new one, most valuable first "
                    "(keep a little of each chain's coin in the old wallet for the fees until "
                    "the last transfer).\n"
                    "3. Never use or import the old phrase or key again.\n\n"
                    "If you want a person to help you, reply “talk to a person”."),
        "handoff_query": "I want to talk to a human",
        "turn_answered": "Answered with: {title}",
        "turn_clarified": "Offered a choice of articles",
        "turn_declined": "Declined: out of scope",
        "mail_subject": "[Ticket {ticket_id}]",
        "mail_subject_empty": "Your message to support",
        "mail_ack": ("Thank you for writing to us. Your message is ticket {ticket_id}: a member "
                     "of our support team will answer this email within 24 hours. To add "
                     "anything, reply to this email. Never send your recovery phrase or "
                     "private key to anyone, including support."),
        "mail_needs": "To help us solve this quickly, please reply with {fields}.",
        "mail_choices": "While you wait, one of these articles may already answer your question:",
        "mail_answer_end": ("If this does not solve your problem, reply to this email and a "
                            "member of our support team will take over."),
        "mail_reply_end": ("To answer, reply to this email (ticket {ticket_id}). Never send your "
                           "recovery phrase or private key to anyone, including support."),
        "mail_resolved": "Your ticket {ticket_id} is resolved.",
        "mail_rating": ("How satisfied are you with the help you received? Reply to this email "
                        "with a number from 1 (not at all) to 5 (very satisfied), and a comment "
                        "if you like. If your problem is not solved, reply and tell us: your "
                        "ticket will be reopened."),
        "mail_reopened": ("Your ticket {ticket_id} is open again: a member of our support team "
                          "will answer this email within 24 hours."),
    },
    # What agents often write, one click away in the console (their own words may follow).
    canned_replies={
        "greeting": ("Hello, thank you for waiting. I'm looking at your ticket {ticket_id} "
                     "now."),
        "ask_tx_hash": ("Could you send the transaction hash (TxID) of this transfer? You can "
                        "copy it from the transaction's details in TokenPocket or from the "
                        "block explorer."),
        "checking_chain": ("Thank you. We are checking this transaction on the blockchain now "
                           "and will reply here as soon as we know more."),
        "never_share_secret": ("Please never share your recovery phrase, private key or "
                               "password with anyone, including us: TokenPocket support will "
                               "never ask for them."),
        "closing": ("Is there anything else I can help you with? If not, I'll close this "
                    "ticket. Thank you for contacting TokenPocket support."),
    },
    placeholder_defaults={
        "problem": "a short description of the problem", "chain": "the network",
        "tx_hash": "your transaction hash", "amount": "the amount", "token": "the token",
        "address": "the address"},
    detail_labels={
        "problem": "a short description of the problem",
        "chain": "the network (e.g. Ethereum, TRON, BNB Chain)", "tx_hash": "the transaction hash",
        "amount": "the amount and token", "token": "the token", "time": "when it happened",
        "address": "the wallet address(es) involved", "app_version": "the app version",
        "device": "your phone or device"},
    category_labels={
        "account": "Account, password and backup", "transaction": "Transfers and fees",
        "security": "Security and scams", "deposit_withdrawal": "Deposits and withdrawals",
        "how_to": "Using the app", "contact": "Contact support"},
    # Function and question words: what makes a Latin-script query English rather than a
    # token, chain or product name that Chinese users type too ("USDT", "TRX", "us").
    hint_words=frozenset(
        "a an the i me my mine we our you your it its he she they them their is are was "
        "were be been am do does did don didn doesn isn wasn can could would should will "
        "won cannot how what why when where which who whom whose this that these those there "
        "here with about into onto after before because and or but if then than not yes "
        "please have has had just still again never ever some any all every each want need "
        "help".split()),
    list_separator=", ",
    list_last=" and ",
    human_request=(
        r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|some|the)?\s*(real\s+|live\s+)?"
        r"(human|person|agent|someone|somebody|representative|rep|staff|people)\b",
        r"\b(real|live|human)\s+(person|agent|support|human|operator)\b",
        r"\bhuman\s+(please|pls|plz)\b",
        r"\b(get|give|connect)\s+me\s+(to\s+)?(a|an)\s+(human|person|agent|representative)\b",
        r"\bcustomer\s+service\s+(representative|agent|rep)\b",
        r"\bnot\s+(a|another)\s+bot\b", r"\bstop\s+(the\s+)?bot\b",
        r"\b(need|want|get)\s+(a|an|some)\s+(real\s+|live\s+)?(human|person|agent|"
        r"representative|operator)\b",
        r"\b(human|live)\s+agent\b",
    ),
    human_alone=(r"agent|human|operator|representative",),
    filler=(r"\b(i|i'd|want|would|like|need|to|please|pls|plz|can|could|you|me|let|connect|a|"
            r"an|the|now|just|hi|hello|hey|help|with|and|or|ok|okay)\b",),
    theft_confirm=(r"stolen|my funds were stolen|(yes,? )?(they|it|funds|my funds) (were|was) "
                   r"(stolen|taken)",),
    skip_words=(r"skip|no|none|n/?a|nothing|don'?t know",),
    thanks=(r"(?:(?:many |great )?thanks?(?: you)?(?: (?:so|very) much| a lot)?|thx|ty|cheers|"
            r"(?:ok(?:ay)?|great|perfect|got it|solved|it works(?: now)?)(?:,? thanks?(?: you)?)?)",),
    bip39=("english",),
)
