"""What the child's pages say, in English and Vietnamese, at a child's reading level.

Short sentences, no frightening words, always "you are not in trouble". Each topic has two lines that
teach how to recognise that kind of danger next time.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "vi")

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

# Every text of the pages, by language. Lists are shown as bullet points.
MESSAGES: dict[str, dict[str, str | tuple[str, ...]]] = {
    "en": {
        "switch": "Tiếng Việt",
        "unsafe": "If you feel unsafe right now, call:",
        "child_line": "free, for children, day and night",
        "emergency": "emergency, if someone is in danger now",
        "grown_up": "Or go to a grown-up you trust straight away.",
        "about_link": "What does NotAlone check?",
        "help_link": "Open the help page",
        # the help page
        "title": "Help is here",
        "heading": "You can always ask for help",
        "intro": "Is something online making you worried? Tell your parent here. You are not in trouble.",
        "question": "What is happening?",
        "note": "Do you want to say more? You don't have to.",
        "note_hint": "Up to 1,000 letters.",
        "app": "Which app or website? You don't have to say.",
        "send": "Send to my parent",
        # answers
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
        "refused_title": "Please press the button yourself",
        "refused": "This did not come from a button you pressed on this page, so nothing was sent. If you "
        "want help, open the help page and press the button yourself.",
        # the warning page
        "w_title": "Wait a moment!",
        "w_heading": "This page might be a trick",
        "w_explain": "This page looks like it could be a scam: it may try to get money, passwords or "
        "personal details. It comes from",
        "tip_money": "Never pay, send gift cards or share codes because a website asks you to.",
        "tip_secret": "Don't type your passwords, address or phone number here.",
        "tip_adult": "If you are not sure, ask a grown-up you trust. You are not in trouble.",
        "blocked": "Your parent has chosen to keep pages like this one closed.",
        "back": "Go back to safety",
        "continue": "Continue anyway",
        "tell": "Tell my parent",
        "went_back_title": "Good choice!",
        "went_back": "Good choice! You can close this tab or keep browsing.",
        "continue_title": "Opening the page",
        "continue_text": "Remember: never pay, and never type a password or a code there. If anything feels "
        "wrong, come back here and tell your parent.",
        "continue_link": "Open the page",
        "gone_title": "This warning is closed",
        "gone": "This warning is no longer open. If you need help, open the help page.",
        # what NotAlone does (the transparency page)
        "about_title": "What NotAlone does",
        "about_intro": "Your parent set up NotAlone to help keep you safe online. It is a helper that runs "
        "on a box at home and looks at the web pages and chats of this device.",
        "about_checks_h": "What it checks",
        "about_checks": (
            "Web pages you open, to spot tricks like fake prizes or fake log-in pages.",
            "Messages in chats and games, to spot people who might want to trick or hurt you.",
            "If a page looks like a trick, you see a warning first, like a friend saying “wait a moment”.",
        ),
        "about_parent_h": "What your parent sees",
        "about_parent": (
            "Only the things that looked risky: which website or app, a short bit of the words that looked "
            "risky, the last few messages of that chat, and when it happened.",
            "What you chose on a warning: going back, going on anyway, or telling them.",
            "Anything you send with “Tell my parent” or the help page.",
            "It is kept for a while (your parent chooses how long), then deleted.",
        ),
        "about_never_h": "What it never does",
        "about_never": (
            "It does not show your parent a list of everything you look at.",
            "It does not show your parent chats where nothing looked risky.",
            "It cannot see your camera, your microphone, your photos or your screen.",
            "It does not give what it sees to anyone except your parent.",
        ),
        "about_help": "You are not in trouble when NotAlone warns you. You can always ask for help.",
        # setting up a device
        "enrol_title": "Set up NotAlone on this device",
        "enrol_intro": "NotAlone needs its certificate on this device to check secure (https) pages. "
        "Download it, then follow the steps for this device.",
        "enrol_download": "Download the NotAlone certificate",
        "enrol_named": "The certificate is called",
        "enrol_steps_h": "Steps",
        "enrol_android": "Android: open Settings, search for “CA certificate”, tap Install anyway, and pick "
        "the file you downloaded.",
        "enrol_ios": "iPhone or iPad: open Settings, tap Profile Downloaded, then Install. Then go to "
        "General > About > Certificate Trust Settings and switch on the certificate.",
        "enrol_windows": "Windows: open the file, choose Install Certificate, Current User, and put it in "
        "“Trusted Root Certification Authorities”.",
        "enrol_mac": "Mac: open the file in Keychain Access, double-click the certificate, open Trust and "
        "choose Always Trust.",
        "enrol_chromebook": "Chromebook: Settings > Privacy and security > Manage certificates > "
        "Authorities > Import, and tick “Trust this certificate for identifying websites”.",
        "enrol_check": "To check it worked: ask your parent to open the dashboard. This device shows up "
        "there as protected.",
        "enrol_expired_title": "This set-up link has expired",
        "enrol_expired": "Set-up links work for 30 minutes. Ask your parent for a new one.",
    },
    "vi": {
        "switch": "English",
        "unsafe": "Nếu ngay lúc này bạn thấy không an toàn, hãy gọi:",
        "child_line": "miễn phí, dành cho trẻ em, cả ngày lẫn đêm",
        "emergency": "khẩn cấp, khi có người đang gặp nguy hiểm",
        "grown_up": "Hoặc đến ngay chỗ một người lớn bạn tin tưởng.",
        "about_link": "NotAlone kiểm tra những gì?",
        "help_link": "Mở trang trợ giúp",
        "title": "Có người giúp bạn",
        "heading": "Bạn luôn có thể nhờ giúp đỡ",
        "intro": "Có điều gì trên mạng làm bạn lo lắng không? Hãy báo cho bố mẹ ở đây. "
        "Bạn không có lỗi gì cả.",
        "question": "Chuyện gì đang xảy ra?",
        "note": "Bạn có muốn kể thêm không? Không bắt buộc đâu.",
        "note_hint": "Tối đa 1.000 chữ cái.",
        "app": "Ở ứng dụng hay trang web nào? Không bắt buộc.",
        "send": "Gửi cho bố mẹ",
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
        "refused_title": "Hãy tự bấm nút nhé",
        "refused": "Yêu cầu này không đến từ một nút bạn bấm trên trang này, nên chưa có gì được gửi. Nếu "
        "cần giúp, hãy mở trang trợ giúp và tự bấm nút.",
        "w_title": "Chờ một chút!",
        "w_heading": "Trang này có thể là một trò lừa",
        "w_explain": "Trang này có vẻ là lừa đảo: nó có thể tìm cách lấy tiền, mật khẩu hoặc thông tin "
        "cá nhân của bạn. Trang đến từ",
        "tip_money": "Đừng bao giờ trả tiền, gửi thẻ quà tặng hay chia sẻ mã chỉ vì một trang web yêu cầu.",
        "tip_secret": "Đừng nhập mật khẩu, địa chỉ hay số điện thoại của bạn ở đây.",
        "tip_adult": "Nếu không chắc, hãy hỏi một người lớn mà bạn tin tưởng. Bạn không có lỗi gì cả.",
        "blocked": "Bố mẹ bạn đã chọn đóng những trang như thế này.",
        "back": "Quay lại an toàn",
        "continue": "Vẫn tiếp tục",
        "tell": "Báo bố mẹ",
        "went_back_title": "Lựa chọn tốt lắm!",
        "went_back": "Lựa chọn tốt lắm! Bạn có thể đóng thẻ này hoặc tiếp tục lướt web.",
        "continue_title": "Đang mở trang",
        "continue_text": "Hãy nhớ: đừng trả tiền, đừng nhập mật khẩu hay mã số ở đó. Nếu thấy có gì không "
        "ổn, hãy quay lại đây và báo bố mẹ.",
        "continue_link": "Mở trang",
        "gone_title": "Cảnh báo này đã đóng",
        "gone": "Cảnh báo này không còn mở nữa. Nếu cần giúp, hãy mở trang trợ giúp.",
        "about_title": "NotAlone làm gì",
        "about_intro": "Bố mẹ bạn cài NotAlone để giúp bạn an toàn trên mạng. Đó là một người trợ giúp chạy "
        "trên một chiếc hộp ở nhà và xem các trang web và cuộc trò chuyện trên thiết bị này.",
        "about_checks_h": "NotAlone kiểm tra gì",
        "about_checks": (
            "Các trang web bạn mở, để phát hiện trò lừa như quà giả hay trang đăng nhập giả.",
            "Tin nhắn trong các cuộc trò chuyện và trò chơi, để phát hiện người muốn lừa hoặc làm hại bạn.",
            "Nếu một trang có vẻ là trò lừa, bạn sẽ thấy cảnh báo trước, như một người bạn nói “chờ chút”.",
        ),
        "about_parent_h": "Bố mẹ bạn thấy gì",
        "about_parent": (
            "Chỉ những điều có vẻ nguy hiểm: trang web hay ứng dụng nào, một đoạn ngắn của những chữ có vẻ "
            "nguy hiểm, vài tin nhắn cuối của cuộc trò chuyện đó, và lúc nào.",
            "Bạn đã chọn gì ở trang cảnh báo: quay lại, vẫn tiếp tục, hay báo bố mẹ.",
            "Những gì bạn gửi bằng nút “Báo bố mẹ” hay trang trợ giúp.",
            "Những điều này được giữ một thời gian (bố mẹ chọn bao lâu), rồi bị xóa.",
        ),
        "about_never_h": "NotAlone không bao giờ làm gì",
        "about_never": (
            "Không cho bố mẹ xem danh sách mọi thứ bạn xem.",
            "Không cho bố mẹ xem những cuộc trò chuyện không có gì nguy hiểm.",
            "Không thể xem camera, micro, ảnh hay màn hình của bạn.",
            "Không đưa những gì nó thấy cho ai khác ngoài bố mẹ bạn.",
        ),
        "about_help": "Khi NotAlone cảnh báo, bạn không có lỗi gì cả. Bạn luôn có thể nhờ giúp đỡ.",
        "enrol_title": "Cài NotAlone trên thiết bị này",
        "enrol_intro": "NotAlone cần chứng chỉ của nó trên thiết bị này để kiểm tra các trang bảo mật "
        "(https). Hãy tải về rồi làm theo các bước cho thiết bị này.",
        "enrol_download": "Tải chứng chỉ NotAlone",
        "enrol_named": "Chứng chỉ có tên",
        "enrol_steps_h": "Các bước",
        "enrol_android": "Android: mở Cài đặt, tìm “chứng chỉ CA”, chọn Vẫn cài đặt và chọn tệp vừa tải.",
        "enrol_ios": "iPhone hoặc iPad: mở Cài đặt, chạm Đã tải về hồ sơ, rồi Cài đặt. Sau đó vào Cài đặt "
        "chung > Giới thiệu > Cài đặt tin cậy chứng nhận và bật chứng chỉ.",
        "enrol_windows": "Windows: mở tệp, chọn Install Certificate, Current User, và đặt vào “Trusted Root "
        "Certification Authorities”.",
        "enrol_mac": "Mac: mở tệp bằng Keychain Access, bấm đúp vào chứng chỉ, mở Trust và chọn Always "
        "Trust.",
        "enrol_chromebook": "Chromebook: Cài đặt > Quyền riêng tư và bảo mật > Quản lý chứng chỉ > Tổ chức "
        "phát hành > Nhập, và đánh dấu “Tin cậy chứng chỉ này để nhận dạng trang web”.",
        "enrol_check": "Để kiểm tra: nhờ bố mẹ mở bảng điều khiển. Thiết bị này sẽ hiện là đã được bảo vệ.",
        "enrol_expired_title": "Liên kết cài đặt đã hết hạn",
        "enrol_expired": "Liên kết cài đặt chỉ dùng được 30 phút. Hãy xin bố mẹ một liên kết mới.",
    },
}


def scenario_of(text: str, category: str = "scam") -> str:
    """Which lesson fits what the model saw on a warned page: the first scenario whose cues appear."""
    for scenario, cues in _SCENARIOS:
        if cues.search(text):
            return scenario
    return "photos" if category == "grooming" else "scam"


def lessons(lang: str, lesson: str) -> tuple[str, ...]:
    table = LESSONS.get(lang, LESSONS["en"])
    return table.get(lesson, table["other"])
