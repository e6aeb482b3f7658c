"""The default survey policy and three surveys: general service satisfaction (客户满意度调查表,
seed 000 三 服务效果评估, 004 客服主管 职责 7), the complaint evaluation form (客户评价单, 000
客服专员: after a complaint, a return visit producing the form) and the field-service survey
(001: the coordinator's daily supervision visit of the technicians, 很满意 share for rewards)."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

R, S, M, T = "rating", "single", "multiple", "text"

TEMPLATES = [
    {
        "family": "general-satisfaction",
        "name": "客户满意度调查表",
        "intro": "为不断提高服务质量，请您对我们的服务进行评价。您的意见对我们非常重要。",
        "send_after_ticket_close": False,
        "ticket_kinds": [],
        "auto_channel": "sms",
        "questions": [
            (R, "您对我们的整体服务是否满意？", [], True),
            (R, "您对服务人员的服务态度是否满意？", [], True),
            (R, "您对问题处理的及时性是否满意？", [], True),
            (S, "您通常通过哪种方式联系我们？", ["400热线", "QQ", "微信", "电子邮件", "上门拜访", "其他"], False),
            (M, "您希望我们在哪些方面改进？", ["响应速度", "服务态度", "专业水平", "产品质量", "收费价格"], False),
            (T, "您对我们还有什么意见或建议？", [], False),
        ],
    },
    {
        "family": "complaint-evaluation",
        "name": "客户评价单",
        "intro": "您的投诉已处理完毕，请对本次处理进行评价。",
        "send_after_ticket_close": True,
        "ticket_kinds": ["complaint"],
        "auto_channel": "sms",
        "questions": [
            (S, "您反映的问题是否已经解决？", ["已解决", "部分解决", "未解决"], True),
            (R, "您对本次投诉的处理结果是否满意？", [], True),
            (R, "您对处理速度是否满意？", [], True),
            (R, "您对客诉专员的服务态度是否满意？", [], True),
            (T, "其他意见", [], False),
        ],
    },
    {
        "family": "field-service",
        "name": "技术服务满意度调查",
        "intro": "感谢您使用我们的技术服务，请对本次上门服务进行评价。",
        "send_after_ticket_close": False,
        "ticket_kinds": [],
        "auto_channel": "phone",
        "questions": [
            (R, "您对技术员本次服务是否满意？", [], True),
            (R, "您对技术员到达的及时性是否满意？", [], True),
            (R, "您对技术员的专业水平是否满意？", [], True),
            (S, "技术员是否遵守服务规范（着装整洁、礼貌用语、清理现场）？", ["是", "否"], True),
            (T, "您对技术服务的意见或建议", [], False),
        ],
    },
]


def load(apps, schema_editor):
    SurveyPolicy = apps.get_model("surveys", "SurveyPolicy")
    SurveyTemplate = apps.get_model("surveys", "SurveyTemplate")
    SurveyQuestion = apps.get_model("surveys", "SurveyQuestion")
    if not SurveyPolicy.objects.exists():
        SurveyPolicy.objects.create(
            effective_from=dt.date(2000, 1, 1),
            note="默认规则",
            link_valid_days=14,
            dissatisfied_at_or_below=2,
            nomination_min_responses=10,
            nomination_min_very_satisfied_percent=Decimal("90"),
            nomination_top=5,
        )
    for spec in TEMPLATES:
        if SurveyTemplate.objects.filter(family=spec["family"]).exists():
            continue
        template = SurveyTemplate.objects.create(
            family=spec["family"],
            version=1,
            name=spec["name"],
            intro=spec["intro"],
            send_after_ticket_close=spec["send_after_ticket_close"],
            ticket_kinds=spec["ticket_kinds"],
            auto_channel=spec["auto_channel"],
        )
        for position, (kind, text, choices, required) in enumerate(spec["questions"], start=1):
            SurveyQuestion.objects.create(
                template=template, position=position, kind=kind, text=text, choices=choices, required=required
            )


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
