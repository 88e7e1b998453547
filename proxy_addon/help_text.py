"""What the help pages say to a child, in English and Vietnamese, at a child's reading level.

Short sentences, no frightening words, always "you are not in trouble". Each topic has two lines that
teach how to recognise that kind of danger next time.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "vi")
DEFAULT_HELPLINE = "111"  # Vietnam's free national child-protection hotline, open day and night

# The choices on the help page, in the order shown. The keys are stored with the alert.
TOPICS = ("secret", "money", "photos", "scary", "other")

TOPIC_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "secret": "Someone asks me to keep a secret",
        "money": "Someone asks for money or a code",
        "photos": "Someone asks for photos or to meet",
        "scary": "I saw something scary",
        "other": "Something else",
    },
    "vi": {
        "secret": "Có người bảo mình giữ bí mật",
        "money": "Có người đòi tiền hoặc mã số",
        "photos": "Có người xin ảnh hoặc rủ gặp mặt",
        "scary": "Mình thấy điều gì đó đáng sợ",
        "other": "Chuyện khác",
    },
}

# How to recognise the danger next time. Help-page topics and warned-page scenarios share these.
LESSONS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "robux": (
            "Free Robux, skins or prizes that ask for your password or a code are always a trick.",
            "Real games never ask for your password on another website.",
        ),
        "secret": (
            "A real friend never asks you to keep secrets from your parents.",
            'When someone says "don\'t tell anyone", that is the time to tell.',
        ),
        "money": (
            "Nobody should ask a child for money, gift cards or codes.",
            "A code sent to your phone is like a key. Never give it to anyone.",
        ),
        "photos": (
            "Someone who asks for photos, or to chat in another app, wants to hide from your parents.",
            "You can stop answering at any time and tell a grown-up. You will not be in trouble.",
        ),
        "authority": (
            "Real police officers and teachers never ask children for money or codes, online or on "
            "the phone.",
            "Hang up and tell your parent. They can check who it really was.",
        ),
        "scary": (
            "Seeing something scary is not your fault.",
            "You can close it. Talking about it with a grown-up helps.",
        ),
        "scam": (
            "If something online sounds too good to be true, it is usually a trick.",
            'Pages that hurry you ("only 10 minutes left!") want you to stop thinking.',
        ),
        "other": (
            "Telling a grown-up you trust is always a good idea.",
            "You can ask for help as many times as you need.",
        ),
    },
    "vi": {
        "robux": (
            "Robux, skin hay quà miễn phí mà đòi mật khẩu hoặc mã số thì luôn là trò lừa.",
            "Trò chơi thật không bao giờ hỏi mật khẩu của bạn trên một trang web khác.",
        ),
        "secret": (
            "Bạn tốt thật sự không bao giờ bảo bạn giấu bố mẹ điều gì.",
            "Khi ai đó nói “đừng kể với ai”, đó chính là lúc nên kể cho bố mẹ.",
        ),
        "money": (
            "Không ai được đòi trẻ em tiền, thẻ quà tặng hay mã số.",
            "Mã số gửi về điện thoại giống như chìa khóa nhà. Đừng bao giờ đưa cho ai.",
        ),
        "photos": (
            "Người xin ảnh, hay rủ bạn sang ứng dụng khác để nói chuyện, là đang muốn giấu bố mẹ bạn.",
            "Bạn có thể ngừng trả lời bất cứ lúc nào và kể với người lớn. Bạn sẽ không bị mắng đâu.",
        ),
        "authority": (
            "Công an hay thầy cô thật không bao giờ đòi tiền hay mã số của trẻ em, trên mạng hay qua "
            "điện thoại.",
            "Hãy cúp máy và kể với bố mẹ. Bố mẹ sẽ kiểm tra xem người đó thật ra là ai.",
        ),
        "scary": (
            "Nhìn thấy điều đáng sợ không phải lỗi của bạn.",
            "Bạn có thể đóng nó lại. Kể với người lớn sẽ giúp bạn thấy nhẹ lòng hơn.",
        ),
        "scam": (
            "Điều gì trên mạng nghe tốt quá mức thì thường là trò lừa.",
            "Trang web giục bạn (“chỉ còn 10 phút!”) là muốn bạn không kịp suy nghĩ.",
        ),
        "other": (
            "Kể với một người lớn bạn tin tưởng luôn là điều tốt.",
            "Bạn có thể nhờ giúp đỡ bao nhiêu lần cũng được.",
        ),
    },
}

TOPIC_LESSON = {"secret": "secret", "money": "money", "photos": "photos", "scary": "scary", "other": "other"}

# Scenario cues in what the model saw on a warned page, most specific first (English and Vietnamese).
_SCENARIOS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("robux", re.compile(r"robux|v-?bucks|free skins?|kim cương miễn phí|quân huy|skin miễn phí", re.I)),
    (
        "authority",
        re.compile(r"\bpolice\b|officer|teacher|công an|cảnh sát|thầy giáo|cô giáo|giáo viên", re.I),
    ),
    (
        "photos",
        re.compile(
            r"photo|picture|\bpics?\b|selfie|webcam|telegram|snapchat|whatsapp|"
            r"\bmeet\b|ảnh|hình|gặp nhau|gặp mặt|zalo riêng",
            re.I,
        ),
    ),
    ("secret", re.compile(r"secret|don'?t tell|bí mật|đừng kể|đừng nói", re.I)),
    ("money", re.compile(r"gift ?card|money|pay|code|otp|bank|transfer|tiền|chuyển khoản|mã|thẻ", re.I)),
)

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Help is here",
        "heading": "You can always ask for help",
        "intro": "Is something online making you worried? Tell your parent here. You are not in trouble.",
        "question": "What is happening?",
        "note": "Do you want to say more? You don't have to.",
        "note_hint": "Up to 1,000 letters.",
        "app": "Which app or website? You don't have to say.",
        "send": "Send to my parent",
        "helpline": "If you feel unsafe right now, call $helpline or go to a grown-up you trust "
        "straight away.",
        "helpline_111": "111 is the children's helpline. It is free, day and night.",
        "switch": "Tiếng Việt",
        "thanks_title": "Thank you for telling",
        "thanks": "You did the right thing. Your parent will see this.",
        "next_time": "Next time, remember:",
        "limited_title": "Please talk to a grown-up",
        "limited": "You have sent a lot of messages this hour, so this one was not sent. Please go and talk "
        "to your parent or another grown-up you trust now.",
        "failed_title": "Please tell a grown-up now",
        "failed": "Your message could not be sent just now. Please tell a grown-up now: go to your parent "
        "or another grown-up you trust.",
        "expired_title": "Please send it again",
        "expired": "This page was open for a long time. Please open the help page again and send it.",
        "back_to_help": "Open the help page",
    },
    "vi": {
        "title": "Có người giúp bạn",
        "heading": "Bạn luôn có thể nhờ giúp đỡ",
        "intro": "Có điều gì trên mạng làm bạn lo lắng không? Hãy báo cho bố mẹ ở đây. "
        "Bạn không có lỗi gì cả.",
        "question": "Chuyện gì đang xảy ra?",
        "note": "Bạn có muốn kể thêm không? Không bắt buộc đâu.",
        "note_hint": "Tối đa 1.000 chữ cái.",
        "app": "Ở ứng dụng hay trang web nào? Không bắt buộc.",
        "send": "Gửi cho bố mẹ",
        "helpline": "Nếu ngay lúc này bạn thấy không an toàn, hãy gọi $helpline hoặc đến ngay chỗ một "
        "người lớn bạn tin tưởng.",
        "helpline_111": "111 là tổng đài bảo vệ trẻ em. Gọi miễn phí, cả ngày lẫn đêm.",
        "switch": "English",
        "thanks_title": "Cảm ơn bạn đã kể",
        "thanks": "Bạn đã làm đúng. Bố mẹ sẽ thấy tin này.",
        "next_time": "Lần sau, hãy nhớ:",
        "limited_title": "Hãy nói chuyện với người lớn nhé",
        "limited": "Trong giờ này bạn đã gửi nhiều tin rồi nên tin này chưa được gửi. Hãy đi nói chuyện "
        "ngay với bố mẹ hoặc một người lớn bạn tin tưởng nhé.",
        "failed_title": "Hãy kể với người lớn ngay nhé",
        "failed": "Tin của bạn chưa gửi được lúc này. Hãy kể ngay với bố mẹ hoặc một người lớn bạn tin "
        "tưởng.",
        "expired_title": "Hãy gửi lại nhé",
        "expired": "Trang này đã mở quá lâu. Hãy mở lại trang trợ giúp và gửi lại nhé.",
        "back_to_help": "Mở trang trợ giúp",
    },
}


def language_for(query_lang: str = "", accept_language: str = "") -> str:
    """An explicit ``?lang=`` choice first, else the browser's languages in order; English otherwise."""
    if query_lang.strip().lower() in LANGUAGES:
        return query_lang.strip().lower()
    for part in accept_language.split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def scenario_of(text: str, category: str = "scam") -> str:
    """Which lesson fits what the model saw on a warned page: the first scenario whose cues appear."""
    for scenario, cues in _SCENARIOS:
        if cues.search(text):
            return scenario
    return "photos" if category == "grooming" else "scam"


def lessons(lang: str, lesson: str) -> tuple[str, ...]:
    table = LESSONS.get(lang, LESSONS["en"])
    return table.get(lesson, table["other"])
