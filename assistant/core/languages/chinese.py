"""Chinese, simplified and traditional: one language whose replies follow the user's script."""

from __future__ import annotations

from assistant.core.languages.language import Language

#: The Han characters (CJK unified ideographs, extension A, compatibility ideographs).
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

LANGUAGE = Language(
    code="zh",
    name="中文",
    support_hours="全天 24 小时",
    script=f"[{HAN}]",
    follows_user_script=True,
    cjk_typography=True,
    messages={
        "decline": (
            "抱歉，我只能解答与 TokenPocket 钱包相关的问题：账户与备份、转账与手续费、充值与提币、"
            "安全与防骗、App 使用方法，以及如何联系客服。请问有什么可以帮您？"),
        "clarify": "为了准确回答，请问您想问的是下面哪一个？",
        "handoff_human": "好的，正在为您转接人工客服。",
        "handoff_low": "这个问题我暂时无法准确回答，已为您转交人工客服处理。",
        "handoff_article": "同时已为您转交人工客服跟进。",
        "ticket": ("您的工单号是 {ticket_id}，当前排在第 {position} 位（预计等待约 {eta} 分钟），"
                   "客服会在这里回复您。请勿向任何人（包括客服）提供助记词或私钥。"),
        "ticket_claimed": "您的工单 {ticket_id} 已由客服接手，客服会在这里回复您。",
        "ticket_existing": "您已有一个处理中的工单（{ticket_id}），这条消息已补充到该工单。",
        "needs": "为了让客服尽快处理，请在一条消息中发送：{fields}。如果没有，回复“跳过”即可。",
        "needs_followup": "如方便，请再发送：{fields}，我会补充到您的工单中。",
        "details_added": "谢谢，已补充到您的工单 {ticket_id}。",
        "ticket_failed": "暂时无法创建工单，请稍后再试，或发送邮件至 {support_email}。",
        "secret": ("⚠️ 您的消息中似乎包含助记词或私钥。我们已将其删除，不会保存。任何客服都不会向您索要"
                   "助记词或私钥。请把这个钱包视为已泄露：立即创建新钱包，并把资产转移过去。"),
        "scam": ("⚠️ 这很可能是诈骗。官方客服绝不会索要助记词、私钥或密码，不会主动私信您，也不会让您"
                 "转币来“验证”或“同步”钱包。"),
        "theft": "很抱歉遇到这种情况。请立即按下面的步骤操作，客服会尽快优先跟进。",
        "handoff_urgent": "您的工单已标记为紧急，排在队列最前面。",
        "theft_check": "如果资产在您没有操作的情况下被转走，请回复“被盗了”，会有专人立即协助您。",
        "exposed": ("⚠️ 任何看到过您助记词或私钥的人，都能不需要密码转走钱包里的全部资产。请立即转移资产：\n\n"
                    "1. 在TokenPocket中新建一个钱包，用纸笔抄好新的助记词。\n"
                    "2. 把旧钱包里的资产全部转到新钱包，先转价值最高的（旧钱包里留一点各链的主币作为"
                    "手续费，直到最后一笔转完）。\n"
                    "3. 以后不要再使用或导入旧的助记词和私钥。\n\n"
                    "如需人工协助，请回复“转人工”。"),
        "handoff_query": "转人工",
        "turn_answered": "已回答：{title}",
        "turn_clarified": "请用户在几篇文章中选择",
        "turn_declined": "超出服务范围，已说明",
        "mail_subject": "[工单 {ticket_id}]",
        "mail_subject_empty": "您的客服咨询",
        "mail_ack": ("感谢您的来信。您的问题已登记为工单 {ticket_id}，客服人员会在 24 小时内回复这封邮件。"
                     "如需补充，请直接回复本邮件。请勿向任何人（包括客服）发送助记词或私钥。"),
        "mail_needs": "为了尽快处理，请回复本邮件并提供：{fields}。",
        "mail_choices": "在等待期间，以下文章也许已经能解答您的问题：",
        "mail_answer_end": "如果问题仍未解决，请直接回复本邮件，客服人员会接手处理。",
        "mail_reply_end": "如需回复，请直接回复本邮件（工单 {ticket_id}）。请勿向任何人（包括客服）发送助记词或私钥。",
        "mail_resolved": "您的工单 {ticket_id} 已处理完毕。",
        "mail_rating": ("您对本次服务满意吗？请直接回复本邮件，写一个 1（很不满意）到 5（非常满意）的数字，"
                        "也可以附上您的意见。如果问题仍未解决，请回复告诉我们，工单会重新打开。"),
        "mail_reopened": "您的工单 {ticket_id} 已重新打开，客服人员会在 24 小时内回复这封邮件。",
    },
    canned_replies={
        "greeting": "您好，感谢您的耐心等待。我正在查看您的工单 {ticket_id}。",
        "ask_tx_hash": "请发送这笔转账的交易哈希（TxID），可以在 TokenPocket 的交易详情或区块浏览器中复制。",
        "checking_chain": "收到，我们正在链上核实这笔交易，有结果会第一时间在这里回复您。",
        "never_share_secret": ("请不要向任何人（包括我们）透露您的助记词、私钥或密码，TokenPocket "
                               "客服绝不会索要这些信息。"),
        "closing": "请问还有其他可以帮您的吗？如果没有，我将关闭此工单。感谢您联系 TokenPocket 客服。",
    },
    placeholder_defaults={"chain": "对应网络", "tx_hash": "您的交易哈希", "amount": "该笔金额",
                          "token": "该代币", "address": "该地址"},
    detail_labels={
        "problem": "问题的简要描述", "chain": "所在网络（如以太坊、波场、BNB Chain）",
        "tx_hash": "交易哈希", "amount": "金额和币种", "token": "币种", "time": "发生时间",
        "address": "涉及的钱包地址", "app_version": "App 版本号", "device": "手机型号或设备"},
    category_labels={
        "account": "账户、密码与备份", "transaction": "转账与手续费", "security": "安全与防骗",
        "deposit_withdrawal": "充值与提币", "how_to": "使用指南", "contact": "联系客服"},
    list_separator="、",
    list_last="、",
    human_request=(
        r"转人工", r"人工客服", r"人工服务", r"人工坐席", r"真人客服", r"找真人", r"要人工",
        r"接人工", r"找人工", r"人工处理", r"人工帮", r"联系人工", r"人工介入",
        r"转接客服", r"转客服", r"找个人", r"活人",
    ),
    human_alone=(r"人工|客服|真人",),
    filler=(r"[请帮我你好吧呢啊一下快点]",),
    theft_confirm=(r"被盗了?|被盜了?|被偷了?|资产被盗了?|資產被盜了?",),
    skip_words=(r"跳过|没有|不知道|不用了|略过",),
    thanks=(r"(?:非常|十分)?(?:谢谢(?:你|您)?|多谢|感谢(?:你|您)?|好的|收到|已解决|解决了)(?:[，,]?(?:谢谢|多谢|感谢)(?:你|您)?)?",),
    bip39=("chinese_simplified", "chinese_traditional"),
)
