"""The SPEC defaults: the tier cadence of seed 000 ch.6 二, the retry rule, and the visit scripts of
seeds 000 附件一 and 003 第四篇 (one per purpose)."""

import datetime as dt

from django.db import migrations

RULES = [
    ("centre", "agent", "ABC", 1),  # 客服中心: A、B、C 类客户每月回访一次
    ("leader", "leader", "AB", 3),  # 分管领导: A、B 类每三个月回访一次
    ("president", "president", "A", 12),  # 总裁: A 类每年回访一次
]

GREETING = "{customer_name}您好,我是客服人员{agent_name},请问您现在有时间吗?"
ASK_TIME = "不好意思打扰您了,请问您什么时候有时间,我想对咱们公司的产品和服务进行回访。(和客户约好时间并记录)"
CLOSING = "如果有问题请再打电话,我们将及时为您服务。感谢您对我们的工作提出宝贵意见。谢谢,再见!(等对方挂机后再挂电话)"
SILENT = "您好(稍停)您好!(稍停)对不起,您的电话没有声音/听不清楚,我稍候给您打过去,再见!"
SECOND = "您好,实在抱歉,刚才电话听不见(清)您的声音,您现在有时间吗,我想进行回访服务?"

SCRIPTS = {
    "return_visit": (
        GREETING,
        [
            "贵司对我司近期的产品和服务是否满意?",
            "贵司的污水运营是否正常?",
            "近期使用中有没有遇到问题?",
            "对我们的工作还有什么意见和建议?",
        ],
    ),
    "evaluation": (
        "{customer_name}您好,我是客服部{agent_name},您前段时间向我们反映的问题已处理完毕,想请您对处理情况做个评价,请问您现在有时间吗?",
        [
            "您反映的问题是否已经解决?",
            "您对处理速度是否满意?",
            "您对处理人员的态度是否满意?",
            "您对处理结果是否满意?",
            "您还有什么意见和建议?",
        ],
    ),
    "follow_up": (
        "{customer_name}您好,我是客服部{agent_name},一个月前您反映的问题处理后,想了解一下现在的情况,请问您现在有时间吗?",
        ["上次处理的问题是否再次出现?", "产品和服务目前是否正常?", "还有其他需要我们帮助的吗?"],
    ),
    "purchase": (
        GREETING,
        [
            "贵司在我公司购买的产品是否已顺利收到并投入使用?",
            "产品质量和安装调试是否满意?",
            "送货和服务人员的表现如何?",
            "还有什么需要我们帮助的吗?",
        ],
    ),
    "win_back": (
        GREETING,
        ["请问最近没有继续合作的原因是什么?", "我们在哪些方面做得还不够?", "如果我们改进,您是否愿意继续合作?"],
    ),
    "service": (
        GREETING,
        ["技术人员是否按时到达?", "问题是否已经解决?", "您对技术人员的服务态度是否满意?"],
    ),
    "briefing": (
        "{customer_name}您好,我是客服人员{agent_name},向您通报最新的环保政策等信息,请问您现在有时间吗?",
        ["客户是否已了解通报的内容?", "客户对政策有什么疑问?"],
    ),
    "invitation": (
        "{customer_name}您好,我是客服人员{agent_name},诚邀贵司参加我司组织的客户知识讲座/考察/客户联谊会,请问您现在有时间吗?",
        ["是否参加?", "参加人数和联系人?"],
    ),
    "news": (
        "{customer_name}您好,我是客服人员{agent_name},向您传递我司最新的企业信息,请问您现在有时间吗?",
        ["客户是否已收到企业信息?"],
    ),
    "newsletter": (
        "{customer_name}您好,我是客服人员{agent_name},我司本期内刊已寄出,请您注意查收。",
        ["邮寄地址是否正确?", "对内刊有什么意见?"],
    ),
}


def load(apps, schema_editor):
    CadencePolicy = apps.get_model("visits", "CadencePolicy")
    CadenceRule = apps.get_model("visits", "CadenceRule")
    RetryPolicy = apps.get_model("visits", "RetryPolicy")
    VisitScript = apps.get_model("visits", "VisitScript")
    start = dt.date(2000, 1, 1)
    if not CadencePolicy.objects.exists():
        policy = CadencePolicy.objects.create(effective_from=start, note="SPEC §3 默认")
        for order, (code, role, tiers, every) in enumerate(RULES, start=1):
            CadenceRule.objects.create(
                policy=policy, code=code, role=role, tiers=tiers, every_months=every, sort_order=order
            )
    if not RetryPolicy.objects.exists():
        RetryPolicy.objects.create(
            effective_from=start,
            attempts_before_callback=2,
            retry_delay_minutes=60,
            callback_within_hours=24,
            note="SPEC §5 默认",
        )
    for purpose, (greeting, questions) in SCRIPTS.items():
        VisitScript.objects.get_or_create(
            purpose=purpose,
            defaults={
                "greeting": greeting,
                "ask_time": ASK_TIME,
                "questions": questions,
                "closing": CLOSING,
                "silent_line": SILENT,
                "second_call": SECOND,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
