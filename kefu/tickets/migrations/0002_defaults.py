"""Default time limits, complaint categories and the standard phrases of seeds 000 附件一 and 003 第四篇."""

import datetime as dt

from django.db import migrations

H = 60
DAY = 8 * H  # one working day of the default working hours

# (kind, priority, tier, first response, resolution) in working minutes; empty matches anything.
SLA_TARGETS = [
    ("", "", "", 4 * H, 5 * DAY),
    ("", "urgent", "", 30, DAY),
    ("", "", "A", 1 * H, 2 * DAY),
    ("inquiry", "", "", 2 * H, DAY),
    ("complaint", "", "", 1 * H, 3 * DAY),
    ("complaint", "urgent", "", 30, DAY),
    ("complaint", "", "A", 30, 2 * DAY),
    ("repair", "", "", 2 * H, 2 * DAY),
    ("repair", "urgent", "", 30, DAY),
    ("after_sales", "", "", 4 * H, 3 * DAY),
    ("suggestion", "", "", DAY, 10 * DAY),
]

CATEGORIES = ["产品质量", "服务态度", "响应速度", "物流配送", "价格与收费", "技术服务", "售后政策", "其他"]

CANNED = [
    ("greeting", "接听第一句", "您好,客服中心{agent_name}为您服务,请问有什么可以帮您?"),
    ("greeting", "回访招呼语", "{customer_name}您好,我是客服人员{agent_name},请问您现在有时间吗?"),
    ("greeting", "回访时客户没时间", "不好意思打扰您了,请问您什么时候有时间,我想对咱们公司购买的产品进行回访服务。"),
    ("waiting", "请稍等", "请您稍等,我马上为您查询。"),
    ("waiting", "让客户久等", "对不起,让您久等了。"),
    ("apology", "致歉并尽快解决", "对不起,给您添麻烦了,请不要着急,我马上为您联系,尽快为您解决问题。"),
    ("apology", "受理投诉致歉", "非常抱歉给您带来不便,您反映的问题我已记录,工单号{ticket_number},我们会尽快处理并给您回复。"),
    ("closing", "结束语", "请问还有什么需要帮助的吗?谢谢您的来电,再见!"),
    ("closing", "不能马上答复", "{customer_name},我们会尽快回复您,再见!"),
    ("closing", "回访结束语", "如果有问题请再打电话,我们将及时为您服务。感谢您对我们的工作提出宝贵意见。谢谢,再见!"),
    ("angry", "客户情绪激动", "请您心平气和地和我交谈,我们一起将问题尽快解决。"),
    ("dialect", "客户说方言", "对不起,请您尽量讲普通话或者讲慢一点,好吗?"),
    ("dialect", "由听得懂方言的同事回电", "对不起,我请听得懂您方言的同事稍后给您回电话,请问这个号码能联系到您吗?"),
    ("beyond", "问题超出解答能力", "对不起,您提的问题我马上给您查一下,请您留下电话号码,我查清楚后马上给您回电话。"),
    (
        "beyond",
        "不在权限之内",
        "对不起!您所提出的这种情况我们现在暂时无法答复您。我已经将您的问题做了记录,我会尽快电话与您联系,请问今天一天都可以用这部电话联系到您吗?",
    ),
    ("beyond", "需其他部门解答", "因为此项业务比较重要,公司设立了专门的部门,由专门的工作人员负责此项业务,我为您转接或请该部门与您联系。"),
    ("beyond", "要求无法满足", "对不起,我公司暂无此项服务,我们会将您所提出的要求转交相关部门,希望不久的将来能满足您。"),
    ("silent", "无声电话", "您好!(稍停)您好!(稍停)对不起,您的电话没有声音/听不清楚,我稍候给您打过去,再见!"),
    ("silent", "第二次拨打", "您好,实在抱歉,刚才电话听不清您的声音,您现在有时间吗?"),
    ("visit", "回复客户前段时间的问题", "您好,我是客服部{agent_name},请问您是{customer_name}吗?您前段时间向我们反映的问题(工单{ticket_number}),处理结果如下:"),
]


def load(apps, schema_editor):
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    SlaTarget = apps.get_model("tickets", "SlaTarget")
    ComplaintCategory = apps.get_model("tickets", "ComplaintCategory")
    CannedReply = apps.get_model("tickets", "CannedReply")
    if not SlaPolicy.objects.exists():
        policy = SlaPolicy.objects.create(
            effective_from=dt.date(2000, 1, 1), at_risk_percent=80, manager_after_minutes=2 * H, note="默认时限"
        )
        SlaTarget.objects.bulk_create(
            SlaTarget(
                policy=policy, kind=k, priority=p, tier=t, first_response_minutes=first, resolution_minutes=res
            )
            for k, p, t, first, res in SLA_TARGETS
        )
    for order, name in enumerate(CATEGORIES):
        ComplaintCategory.objects.get_or_create(name=name, defaults={"sort_order": order})
    if not CannedReply.objects.exists():
        CannedReply.objects.bulk_create(
            CannedReply(category=category, title=title, body=body, sort_order=order)
            for order, (category, title, body) in enumerate(CANNED)
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
