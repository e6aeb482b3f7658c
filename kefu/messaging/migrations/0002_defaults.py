"""Default policies and the seed templates of member care (`004` 档案资料专员 职责三)."""

import datetime as dt

from django.db import migrations

SIGNATURE = "客服中心"
TEMPLATES = [
    # name, purpose, provider code, text
    ("生日祝福", "care", "SMS_BIRTHDAY", "尊敬的${name}，今天是您的生日，祝您生日快乐、身体健康！${gift}。"),
    ("春节祝福", "care", "SMS_SPRING", "尊敬的${name}，${holiday}将至，恭祝您新春快乐、阖家幸福！"),
    ("节日问候", "care", "SMS_HOLIDAY", "尊敬的${name}，${holiday}快乐！感谢您一直以来的支持与信任。"),
    ("会员服务通知", "notice", "SMS_MEMBER", "尊敬的${name}，${notice}如有疑问请致电客服热线。"),
    ("满意度调查", "notice", "SMS_SURVEY", "尊敬的${name}，诚邀您评价我们的服务：${link}，感谢您的宝贵意见。"),
    ("促销活动通知", "marketing", "SMS_PROMO", "尊敬的${name}，${offer}，详询各门店。拒收请回复R"),
]
HOLIDAYS = {"春节": "春节祝福", "元旦": "节日问候", "劳动节": "节日问候", "端午节": "节日问候",
            "中秋节": "节日问候", "国庆节": "节日问候"}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    MessagingPolicy = apps.get_model("messaging", "MessagingPolicy")
    CarePolicy = apps.get_model("messaging", "CarePolicy")
    HolidayGreeting = apps.get_model("messaging", "HolidayGreeting")
    made = {}
    for name, purpose, code, body in TEMPLATES:
        made[name], _ = MessageTemplate.objects.get_or_create(
            name=name,
            defaults={"channel": "sms", "purpose": purpose, "provider_code": code, "signature": SIGNATURE,
                      "body": body},
        )
    if not MessagingPolicy.objects.exists():
        MessagingPolicy.objects.create(effective_from=dt.date(2000, 1, 1), note="默认值")
    if not CarePolicy.objects.exists():
        CarePolicy.objects.create(effective_from=dt.date(2000, 1, 1), note="默认值", birthday_template=made["生日祝福"])
    for holiday, template in HOLIDAYS.items():
        HolidayGreeting.objects.get_or_create(holiday_name=holiday, defaults={"template": made[template]})


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
