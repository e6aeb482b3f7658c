"""Demo data for `kefu demo`: a believable customer-service department to click through.

The data comes from a fixed seed, so every machine gets the same department, staff and customers;
only birthdays and dates move with today, so the "birthdays this week" and "at risk" lists always
have entries. Everything is written through the services, as the pages would write it; only the
very first administrator, when there is none yet, is created directly (nobody could act before).
"""

from __future__ import annotations

import datetime as dt
import random
import struct
import sys
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from kefu.accounts import services as accounts_services
from kefu.accounts.models import Department, Role, StaffGrade, User
from kefu.accounts.roles import ROLE_DEFINITIONS, sync_roles
from kefu.core.phones import normalize_phone
from kefu.core.pinyin import pinyin_full
from kefu.core.validators import CREDIT_CODE_CHARS, credit_code_check_char, id_number_check_char
from kefu.customers import services
from kefu.customers.models import (
    BorrowRequest,
    ContactChannel,
    Customer,
    CustomerDocument,
    CustomerKind,
    DocumentKind,
    Lifecycle,
    TradeKind,
)
from kefu.messaging.demo import load_messaging_demo
from kefu.surveys.demo import load_survey_demo
from kefu.tickets.demo import load_ticket_demo
from kefu.visits.demo import load_visit_demo

DEMO_PASSWORD = "kefu-demo-2026"
SEED = 2026
CUSTOMER_COUNT = 300
COMPANY_COUNT = 200
# The demo's top department; its presence means the demo is loaded.
ROOT_CODE = "ops"


def _words(text: str) -> list[str]:
    return text.split()


# code, name, parent code
DEPARTMENTS = [
    ("ops", "运营总监", None),
    ("service", "客服部", "ops"),
    ("centre", "客服中心", "service"),
    ("complaints", "客诉中心", "service"),
    ("archive", "档案资料中心", "service"),
    ("big", "大客户组", "service"),
    ("tech", "技术部", "ops"),
    ("tech-mobile", "流动服务组", "tech"),
    ("tech-resident", "驻点服务组", "tech"),
    ("sales", "销售部", "ops"),
]

# name, level, base salary, allowance, description
GRADES = [
    ("初级客服专员", 1, "3800", "300", "入职一年内，熟悉话术与热线流程"),
    ("中级客服专员", 2, "4600", "500", "独立处理咨询、回访与一般投诉"),
    ("高级客服专员", 3, "5600", "800", "处理重大投诉，带教新人"),
    ("技术员一级", 2, "4800", "600", "独立完成上门维修"),
    ("技术员二级", 3, "6000", "900", "驻点服务、专案技术骨干"),
    ("主管级", 4, "7500", "1200", "主管、组长、协调员"),
    ("经理级", 5, "10000", "2000", "部门经理及以上"),
]


@dataclass(frozen=True)
class DemoStaff:
    username: str
    role: str
    full_name: str
    department: str
    title: str
    grade: str


STAFF = [
    DemoStaff("admin", "admin", "赵一鸣", "ops", "系统管理员", "主管级"),
    DemoStaff("manager", "manager", "王丽华", "service", "客服部经理", "经理级"),
    DemoStaff("assistant", "assistant", "陈静", "service", "经理助理", "高级客服专员"),
    DemoStaff("supervisor", "supervisor", "李娜", "centre", "客服主管", "主管级"),
    DemoStaff("agent", "agent", "张敏", "centre", "客服专员", "中级客服专员"),
    DemoStaff(
        "complaint_specialist", "complaint_specialist", "刘洋", "complaints", "客诉专员", "高级客服专员"
    ),
    DemoStaff("archive_specialist", "archive_specialist", "孙倩", "archive", "档案资料专员", "中级客服专员"),
    DemoStaff(
        "big_customer_specialist", "big_customer_specialist", "杨帆", "big", "大客户专员", "高级客服专员"
    ),
    DemoStaff("coordinator", "coordinator", "黄志强", "tech", "协调员", "主管级"),
    DemoStaff("technician", "technician", "吴磊", "tech-mobile", "技术员", "技术员一级"),
    DemoStaff("team_leader", "team_leader", "郑伟", "tech-resident", "驻点服务组组长", "主管级"),
    DemoStaff("salesperson", "salesperson", "马超", "sales", "业务员", "中级客服专员"),
    DemoStaff("leader", "leader", "何建军", "ops", "分管副总", "经理级"),
    DemoStaff("president", "president", "高振华", "ops", "总裁", "经理级"),
    # A second agent and a resident technician, so "own department" differs from "only mine".
    DemoStaff("agent2", "agent", "林晓燕", "centre", "客服专员", "初级客服专员"),
    DemoStaff("technician2", "technician", "宋涛", "tech-resident", "驻点技术员", "技术员二级"),
]
HEADS = {
    "service": "manager",
    "centre": "supervisor",
    "tech": "coordinator",
    "tech-resident": "team_leader",
    "big": "big_customer_specialist",
    "ops": "leader",
}

# province, city, landline area code, administrative division code (credit codes, ID numbers)
CITIES = [
    ("浙江省", "杭州市", "0571", "330106"),
    ("浙江省", "宁波市", "0574", "330203"),
    ("江苏省", "南京市", "025", "320102"),
    ("江苏省", "苏州市", "0512", "320505"),
    ("上海市", "上海市", "021", "310115"),
    ("北京市", "北京市", "010", "110105"),
    ("广东省", "广州市", "020", "440106"),
    ("广东省", "深圳市", "0755", "440305"),
    ("山东省", "济南市", "0531", "370102"),
    ("山东省", "青岛市", "0532", "370212"),
    ("河北省", "石家庄市", "0311", "130102"),
    ("湖北省", "武汉市", "027", "420106"),
    ("四川省", "成都市", "028", "510107"),
    ("河南省", "郑州市", "0371", "410105"),
    ("天津市", "天津市", "022", "120104"),
]
DISTRICT_STREETS = _words(
    "建设路 人民路 解放路 中山路 新华路 和平路 工业大道 科技园路 经济开发区兴业路 滨江大道 "
    "长江路 黄河路 东方路 迎宾大道 高新区创业路"
)

TRADE_NAMES = _words(
    "恒丰 华信 永利 宏达 金鹏 瑞丰 鑫源 天成 众诚 嘉禾 远航 博远 德润 泰和 广源 汇通 东升 "
    "兴业 盛世 海川 同创 聚力 明德 安泰 长青 和顺 中联 正源 立信 康达 润泽 万象 锦程 凯旋 "
    "富华 佳美 宝丰 昌盛 合力 瑞祥 新锐 益民 大成 宏远 金诚 福源 荣达 天润 祥和 华盛"
)


@dataclass(frozen=True)
class Industry:
    name: str
    suffix: str
    process: str
    materials: str
    product: str


INDUSTRIES = [
    Industry("造纸", "纸业有限公司", "制浆—抄纸—压光—复卷", "进口木浆、国产废纸", "文化用纸"),
    Industry("化工", "化工有限公司", "合成—精馏—结晶—包装", "甲醇、液碱、硫酸", "工业助剂"),
    Industry("饲料", "饲料有限公司", "粉碎—配料—混合—制粒", "玉米、豆粕、麸皮", "配合饲料"),
    Industry("金属制品", "金属制品有限公司", "酸洗—冷轧—退火—分条", "热轧卷板", "冷轧钢带"),
    Industry("塑料", "塑胶制品有限公司", "混料—造粒—注塑—检验", "聚乙烯、聚丙烯粒子", "塑料周转箱"),
    Industry("食品", "食品有限公司", "清洗—配料—蒸煮—灌装", "面粉、食用油、白砂糖", "速冻面点"),
    Industry("纺织", "纺织有限公司", "清花—梳棉—纺纱—织造", "棉花、涤纶短纤", "坯布"),
    Industry("建材", "建材有限公司", "配料—煅烧—粉磨—包装", "石灰石、粉煤灰、石膏", "水泥"),
    Industry("包装", "包装有限公司", "印刷—覆膜—模切—糊盒", "白卡纸、瓦楞纸", "彩印纸箱"),
    Industry("农资", "农资有限公司", "复配—造粒—筛分—包装", "尿素、磷酸一铵、氯化钾", "复合肥"),
]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
MALE_GIVEN = list("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志成文")
FEMALE_GIVEN = list("芳娜敏静丽艳娟霞秀玲桂英梅琳雪婷倩颖慧佳洁燕红萍晶莉欣怡")
CONTACT_TITLES = _words("采购经理 总经理 财务主管 生产厂长 设备科长 办公室主任 采购专员 董事长助理")
PERSON_CONTACT_TITLES = ["本人", "配偶", "子女", "助理"]
MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 "
    "153 155 156 157 158 159 166 177 180 181 182 183 "
    "185 186 187 188 189 198 199"
)
MAIL_DOMAINS = ["163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com"]
SOURCES_COMPANY = ["400热线", "展会", "老客户介绍", "官网询盘", "业务员开发", "招标"]
SOURCES_PERSON = ["门店办卡", "线上注册", "老会员推荐", "活动现场"]
LOST_REASONS = ["转向竞争对手采购", "企业停产整改", "价格谈不拢", "对售后响应速度不满意", "搬迁到外省"]
CONTACT_SUMMARIES = [
    "电话回访，客户对近期供货表示满意",
    "告知环保政策调整，客户已知悉",
    "邀请参加年度客户联谊会",
    "客户询问新品报价，已发送价目表",
    "节日问候，客户表示感谢",
    "确认下月订货计划",
    "上门拜访，了解生产线改造进展",
    "寄送企业内刊《客户之友》",
    "客户反映发票抬头有误，已协调财务重开",
    "提醒客户对账，客户承诺本周回款",
]


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small but complete PNG: a coloured card with a darker frame."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    dark = bytes(max(0, c - 90) for c in rgb)
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            edge = x < 3 or y < 3 or x >= width - 3 or y >= height - 3
            row += dark if edge else bytes(rgb)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with a correct cross-reference table (ASCII text: no font embedding needed)."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text_ops = ["BT", "/F1 18 Tf", "72 760 Td", f"({escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        text_ops += ["0 -22 Td", f"({escape(line)}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class _Generator:
    """Deterministic Chinese names, numbers and dates from one seeded random source."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.used: set[str] = set()

    def unique(self, make: Any) -> str:
        for _attempt in range(1000):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        raise RuntimeError("could not generate a unique value")

    def person_name(self, gender: str) -> str:
        given = MALE_GIVEN if gender == "m" else FEMALE_GIVEN
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(given) for _ in range(self.rng.choice([1, 2, 2]))
        )

    def mobile(self) -> str:
        def make() -> str:
            while True:
                number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
                if normalize_phone(number) == number:
                    return number

        return self.unique(make)

    def landline(self, area: str) -> str:
        def make() -> str:
            while True:
                number = f"{area}-{self.rng.randint(2, 8)}{self.rng.randrange(10**7):07d}"
                if normalize_phone(number):
                    return number

        return self.unique(make)

    def credit_code(self, division: str) -> str:
        def make() -> str:
            organisation = "".join(self.rng.choice(CREDIT_CODE_CHARS) for _ in range(9))
            first17 = "91" + division + organisation
            return first17 + credit_code_check_char(first17)

        return self.unique(make)

    def id_number(self, division: str, birthday: dt.date, gender: str) -> str:
        def make() -> str:
            sequence = self.rng.randrange(500) * 2 + (
                1 if gender == "m" else 0
            )  # the 17th digit is odd for men
            first17 = f"{division}{birthday:%Y%m%d}{sequence:03d}"
            return first17 + id_number_check_char(first17)

        return self.unique(make)

    def past_day(self, low: int, high: int) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randint(low, high))

    def birthday(self, *, soon: bool, min_age: int = 22, max_age: int = 65) -> dt.date:
        """A birthday; with `soon`, one whose anniversary falls within the next 7 days."""
        age = self.rng.randint(min_age, max_age)
        if soon:
            day = self.today + dt.timedelta(days=self.rng.randint(0, 6))
            for year in range(day.year - age, day.year - age - 8, -1):
                try:
                    candidate = day.replace(year=year)
                except ValueError:  # 29 February: step back to a leap year
                    continue
                if candidate <= self.today:
                    return candidate
        year = self.today.year - age
        return dt.date(year, self.rng.randint(1, 12), self.rng.randint(1, 28))

    def email(self, name: str, domain: str | None = None) -> str:
        base = pinyin_full(name) or "kefu"
        return self.unique(
            lambda: f"{base}{self.rng.randint(1, 999)}@{domain or self.rng.choice(MAIL_DOMAINS)}"
        )


class DemoError(Exception):
    pass


def is_loaded() -> bool:
    return Department.objects.filter(code=ROOT_CODE).exists()


def _actor() -> tuple[User, bool]:
    """The administrator the demo acts as: an existing one, or a new `admin` (the bootstrap account)."""
    if not Role.objects.exists():
        sync_roles()
    existing = User.objects.filter(username="admin").first()
    if existing is not None and existing.is_active and existing.is_superuser:
        return existing, False
    other = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if other is not None:
        return other, False
    if existing is not None:
        raise DemoError(
            "a user “admin” exists but is not an active superuser: "
            "fix it, or load the demo into an empty database"
        )
    # Nobody may act yet, so the first account is written directly, as `createsuperuser` would.
    admin = User.objects.create_superuser(
        username="admin", password=DEMO_PASSWORD, full_name=STAFF[0].full_name
    )
    admin.groups.add(Role.objects.get(code="admin").group)
    return admin, True


def _org(
    gen: _Generator, actor: User, *, bootstrapped: bool
) -> tuple[dict[str, Department], dict[str, User]]:
    """Departments, grades and staff, through the accounts services."""
    departments: dict[str, Department] = {}
    for order, (code, name, parent) in enumerate(DEPARTMENTS):
        departments[code] = accounts_services.department_create(
            actor=actor,
            data={
                "code": code,
                "name": name,
                "parent": departments[parent] if parent else None,
                "sort_order": order,
            },
        )
    grades = {}
    for name, level, base, allowance, description in GRADES:
        grades[name] = StaffGrade.objects.filter(name=name).first() or accounts_services.staff_grade_create(
            actor=actor,
            data={
                "name": name,
                "level": level,
                "base_salary": base,
                "allowance": allowance,
                "description": description,
            },
        )
    staff: dict[str, User] = {}
    for number, person in enumerate(STAFF, start=1):
        data = {
            "full_name": person.full_name,
            "department": departments[person.department],
            "title": person.title,
            "grade": grades[person.grade],
            "employee_number": f"KF{number:04d}",
            "phone": gen.mobile(),
            "email": f"{person.username}@kefu.example.cn",
            "roles": [person.role],
            "is_superuser": person.username == "admin",
        }
        existing = User.objects.filter(username=person.username).first()
        if existing is None:
            staff[person.username] = accounts_services.user_create(
                actor=actor, data={**data, "username": person.username, "password": DEMO_PASSWORD}
            )
        elif existing.pk == actor.pk and bootstrapped:
            # The bootstrap admin gets a place in the tree; its password stays as it is.
            staff[person.username] = accounts_services.user_update(actor=actor, user=existing, data=data)
        else:
            # Someone created this account (e.g. with `kefu createadmin`): keep it as it is.
            staff[person.username] = existing
    for code, username in HEADS.items():
        accounts_services.department_update(
            actor=actor, department=departments[code], data={"head": staff[username]}
        )
    return departments, staff


def _customer_plan(gen: _Generator) -> list[dict[str, Any]]:
    """Which customer is what: kind, scale (so the tier policy yields A/B/C), lifecycle, birthdays."""
    rng = gen.rng
    plans: list[dict[str, Any]] = []
    # 12 + 4 tier A (by scale, by brand value), 28 tier B, 40 tier C, the rest not on the VIP list.
    company_profiles = (
        ["A"] * 12 + ["A-brand"] * 4 + ["B"] * 28 + ["C"] * 40 + ["none"] * (COMPANY_COUNT - 84)
    )
    for profile in company_profiles:
        if profile == "A":
            tons = rng.randint(20000, 90000)
        elif profile == "A-brand":
            tons = rng.randint(3000, 9000)
        elif profile == "B":
            tons = rng.randint(10000, 19800)
        else:
            tons = rng.randint(300, 9800)
        plans.append(
            {
                "kind": CustomerKind.COMPANY,
                "profile": profile,
                "tons": Decimal(tons),
                "brand": profile == "A-brand",
                "vip": profile != "none",
            }
        )
    person_count = CUSTOMER_COUNT - COMPANY_COUNT
    for index in range(person_count):
        plans.append(
            {
                "kind": CustomerKind.PERSON,
                "profile": "member-vip" if index < 15 else "member",
                "tons": None,
                "brand": False,
                "vip": index < 15,
                "birthday_soon": index % 10 == 3,
            }
        )
    rng.shuffle(plans)
    for plan in plans:
        roll = rng.random()
        big = plan["profile"] in ("A", "A-brand", "B")
        if big:
            lifecycle = Lifecycle.PURCHASING if roll < 0.85 else Lifecycle.OPENED
        elif roll < 0.14:
            lifecycle = Lifecycle.POTENTIAL
        elif roll < 0.34:
            lifecycle = Lifecycle.OPENED
        elif roll < 0.84:
            lifecycle = Lifecycle.PURCHASING
        elif roll < 0.92:
            lifecycle = Lifecycle.CLOSED
        else:
            lifecycle = Lifecycle.LOST
        plan["lifecycle"] = lifecycle
        # About one in eight active customers has gone quiet: the "about to be lost" list.
        plan["quiet"] = lifecycle in (Lifecycle.OPENED, Lifecycle.PURCHASING) and rng.random() < 0.13
    return plans


def _assignment(
    gen: _Generator, plan: dict[str, Any], departments: dict[str, Department], staff: dict[str, User]
) -> tuple[Department, User]:
    if plan["profile"] in ("A", "A-brand", "B"):
        choices = [("big", "big_customer_specialist", 6), ("sales", "salesperson", 4)]
    else:
        choices = [
            ("centre", "agent", 35),
            ("centre", "agent2", 20),
            ("centre", "supervisor", 5),
            ("complaints", "complaint_specialist", 10),
            ("archive", "archive_specialist", 8),
            ("sales", "salesperson", 15),
            ("tech-mobile", "technician", 4),
            ("tech-resident", "technician2", 3),
        ]
    department, owner, _weight = gen.rng.choices(choices, weights=[c[2] for c in choices])[0]
    return departments[department], staff[owner]


def _company_data(gen: _Generator, plan: dict[str, Any]) -> dict[str, Any]:
    rng = gen.rng
    province, city, area, division = rng.choice(CITIES)
    industry = rng.choice(INDUSTRIES)
    city_short = city.removesuffix("市")
    name = gen.unique(lambda: f"{city_short}{rng.choice(TRADE_NAMES)}{industry.suffix}")
    tons = plan["tons"]
    data: dict[str, Any] = {
        "kind": CustomerKind.COMPANY,
        "name": name,
        "short_name": name.removeprefix(city_short).removesuffix("有限公司")[:50],
        "credit_code": gen.credit_code(division),
        "legal_representative": gen.person_name(rng.choice("mf")),
        "registered_capital": Decimal(rng.choice([50, 100, 200, 500, 1000, 2000, 5000, 10000])),
        "licence_valid_until": gen.today + dt.timedelta(days=rng.randint(-30, 3650)),
        "phone": gen.landline(area),
        "province": province,
        "city": city,
        "address": f"{city}{rng.choice(DISTRICT_STREETS)}{rng.randint(1, 999)}号",
        "postcode": f"{division[:4]}00",
        "industry": industry.name,
        "source": rng.choice(SOURCES_COMPANY),
        "is_vip": plan["vip"],
        "brand_value": plan["brand"],
        "annual_tons": tons,
        "production_process": industry.process,
        "raw_materials": industry.materials,
        "investment": (tons * Decimal(rng.choice(["0.05", "0.08", "0.12"]))).quantize(Decimal("1")),
        "credit_rating": rng.choice(["AAA", "AA", "AA", "A", "A", "B", ""])
        if plan["vip"]
        else rng.choice(["A", "B", "C", ""]),
        "credit_limit": Decimal(rng.choice([0, 50000, 100000, 300000, 500000, 1000000])),
        "credit_checked_on": gen.past_day(10, 400),
        "credit_status": rng.choice(
            [
                "回款及时，无逾期记录",
                "偶有逾期，均在一个月内结清",
                "新客户，暂无交易信用记录",
                "经营稳定，银行资信良好",
            ]
        ),
    }
    if plan["brand"]:
        data["notes"] = "行业龙头企业，具有品牌宣传价值，按 A 类大客户维护。"
    return data


def _person_data(gen: _Generator, plan: dict[str, Any]) -> dict[str, Any]:
    rng = gen.rng
    province, city, _area, division = rng.choice(CITIES)
    gender = rng.choice("mf")
    birthday = gen.birthday(soon=plan["birthday_soon"], min_age=20, max_age=72)
    name = gen.person_name(gender)
    return {
        "kind": CustomerKind.PERSON,
        "name": name,
        "id_number": gen.id_number(division, birthday, gender),
        "gender": gender,
        "birthday": birthday,
        "member_number": gen.unique(lambda: f"HY{rng.randrange(10**8):08d}"),
        "member_since": gen.past_day(30, 2500),
        "phone": gen.mobile(),
        "email": gen.email(name) if rng.random() < 0.5 else "",
        "province": province,
        "city": city,
        "address": f"{city}{rng.choice(DISTRICT_STREETS)}{rng.randint(1, 300)}弄{rng.randint(1, 30)}号",
        "source": rng.choice(SOURCES_PERSON),
        "is_vip": plan["vip"],
        "sms_opt_out": rng.random() < 0.08,
    }


def _contacts(gen: _Generator, admin: User, customer: Customer, plan: dict[str, Any]) -> None:
    rng = gen.rng
    area = next((c[2] for c in CITIES if c[1] == customer.city), "021")
    for index in range(rng.choice([1, 1, 2, 2, 3])):
        gender = rng.choice("mf")
        is_self = plan["kind"] == CustomerKind.PERSON and index == 0
        name = customer.name if is_self else gen.person_name(gender)
        if plan["kind"] == CustomerKind.PERSON:
            title = "本人" if is_self else rng.choice(PERSON_CONTACT_TITLES[1:])
        else:
            title = rng.choice(CONTACT_TITLES)
        qq = str(rng.randint(10**5, 3 * 10**9))
        data: dict[str, Any] = {
            "name": name,
            "title": title,
            "gender": customer.gender if is_self else gender,
            "mobile": customer.phone if is_self else gen.mobile(),
            "telephone": gen.landline(area)
            if plan["kind"] == CustomerKind.COMPANY and rng.random() < 0.6
            else "",
            "qq": qq if rng.random() < 0.6 else "",
            "wechat": f"{pinyin_full(name)}_{rng.randint(10, 9999)}" if rng.random() < 0.7 else "",
            "email": (f"{qq}@qq.com" if rng.random() < 0.3 else gen.email(name))
            if rng.random() < 0.7
            else "",
            "notes": rng.choice(["", "", "喜欢喝茶", "周末不方便接电话", "负责签合同", "对价格较敏感"]),
        }
        if is_self:
            data["birthday"] = customer.birthday
        elif rng.random() < 0.75:
            # A few contacts have a birthday this week, so the member-care list is never empty.
            data["birthday"] = gen.birthday(soon=rng.random() < 0.03, min_age=24, max_age=62)
        services.contact_create(actor=admin, customer=customer, data=data)


def _history(
    gen: _Generator, admin: User, customer: Customer, plan: dict[str, Any], industry_product: str
) -> None:
    """Trades and contact records; quiet customers get only old ones (so they show as at risk)."""
    rng = gen.rng
    lifecycle = plan["lifecycle"]
    quiet = plan["quiet"]
    company = plan["kind"] == CustomerKind.COMPANY
    if lifecycle == Lifecycle.PURCHASING:
        trades = [
            (TradeKind.PURCHASE, gen.past_day(200, 600) if quiet else gen.past_day(1, 150))
            for _ in range(rng.randint(1, 4))
        ]
        if not quiet and rng.random() < 0.5:
            trades.append((TradeKind.PAYMENT, gen.past_day(1, 60)))
    elif lifecycle == Lifecycle.OPENED:
        # A contract only: a purchase would move the customer on to "purchasing".
        signed = quiet or rng.random() < 0.6
        trades = (
            [(TradeKind.CONTRACT, gen.past_day(200, 500) if quiet else gen.past_day(5, 120))]
            if signed
            else []
        )
    elif lifecycle in (Lifecycle.CLOSED, Lifecycle.LOST):
        trades = [(TradeKind.PURCHASE, gen.past_day(300, 900)) for _ in range(rng.randint(1, 2))]
    else:
        trades = []
    for kind, day in trades:
        tons = Decimal(rng.randint(20, 2000)) if company and kind == TradeKind.PURCHASE else None
        if company:
            amount = (tons or Decimal(rng.randint(50, 800))) * Decimal(rng.randint(900, 6500))
        else:
            amount = Decimal(rng.randint(99, 8800))
        services.trade_record_create(
            actor=admin,
            customer=customer,
            traded_on=day,
            kind=kind,
            amount=amount.quantize(Decimal("0.01")),
            product=industry_product
            if company
            else rng.choice(["会员年卡", "体检套餐", "护理服务", "保健品礼盒"]),
            quantity_tons=tons,
            reference=f"XS{day:%Y%m}{rng.randrange(10000):04d}",
        )
    if lifecycle == Lifecycle.POTENTIAL:
        moments = [gen.past_day(1, 60)] if rng.random() < 0.7 else []
    elif quiet:
        moments = [gen.past_day(100, 400) for _ in range(rng.randint(1, 2))]
    elif lifecycle in (Lifecycle.CLOSED, Lifecycle.LOST):
        moments = [gen.past_day(120, 500)]
    else:
        moments = [gen.past_day(0, 80) for _ in range(rng.randint(1, 3))]
    contact = customer.contacts.first()
    now = timezone.now()
    for day in moments:
        happened = timezone.make_aware(
            dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.choice([0, 15, 30, 45])))
        )
        services.contact_record_create(
            actor=admin,
            customer=customer,
            summary=rng.choice(CONTACT_SUMMARIES),
            channel=rng.choice(ContactChannel.values),
            happened_at=min(happened, now),
            contact=contact,
        )


def _documents(gen: _Generator, admin: User, customer: Customer) -> list[CustomerDocument]:
    rng = gen.rng
    colour = (rng.randint(150, 250), rng.randint(150, 250), rng.randint(150, 250))
    licence = SimpleUploadedFile("营业执照.png", _png(120, 80, colour), content_type="image/png")
    documents = [
        services.document_upload(
            actor=admin,
            customer=customer,
            uploaded=licence,
            kind=DocumentKind.BUSINESS_LICENCE,
            title="营业执照副本（扫描件）",
        )
    ]
    year = gen.today.year
    contract = _pdf(
        f"Contract {customer.archive_number}",
        [
            f"Purchase contract {year}",
            f"Customer: {customer.archive_number}",
            f"Annual volume: {customer.annual_tons or 0} t",
            "Signed and stamped by both parties.",
        ],
    )
    documents.append(
        services.document_upload(
            actor=admin,
            customer=customer,
            uploaded=SimpleUploadedFile(f"{year}年度购销合同.pdf", contract, content_type="application/pdf"),
            kind=DocumentKind.CONTRACT,
            title=f"{year}年度购销合同",
            important=True,
            notes="合同原件存档案室 A 柜",
        )
    )
    if rng.random() < 0.4:
        report = _pdf(
            f"Credit report {customer.archive_number}", ["Credit investigation summary", "Rating reviewed."]
        )
        documents.append(
            services.document_upload(
                actor=admin,
                customer=customer,
                uploaded=SimpleUploadedFile("信用调查报告.pdf", report, content_type="application/pdf"),
                kind=DocumentKind.CREDIT_REPORT,
                title="信用调查报告",
            )
        )
    return documents


def _borrowings(gen: _Generator, staff: dict[str, User], contracts: list[CustomerDocument]) -> None:
    """A few borrowings in different states, so the approval and check pages have work."""
    today = timezone.localdate()  # due dates are checked against the real today
    specialist, manager, archivist = (
        staff["big_customer_specialist"],
        staff["manager"],
        staff["archive_specialist"],
    )
    used: set[int] = set()

    def pick(user: User) -> CustomerDocument | None:
        ids = [d.pk for d in contracts if d.pk not in used]
        document = CustomerDocument.objects.visible_to(user).filter(pk__in=ids).order_by("pk").first()
        if document is not None:
            used.add(document.pk)
        return document

    first = pick(specialist)
    if first is not None:
        on_loan = services.borrow_request_create(
            actor=specialist,
            document=first,
            purpose="续签合同前核对原合同条款",
            due_back_on=today + dt.timedelta(days=7),
        )
        services.borrow_request_transition(
            actor=manager, borrow=on_loan, action="approve", note="同意，按期归还"
        )
    second = pick(specialist)
    if second is not None:
        done = services.borrow_request_create(
            actor=specialist,
            document=second,
            purpose="客户审计需要复印",
            due_back_on=today + dt.timedelta(days=3),
        )
        services.borrow_request_transition(actor=manager, borrow=done, action="approve")
        services.borrow_request_transition(
            actor=specialist, borrow=done, action="return", note="已复印，原件归还"
        )
        services.borrow_request_transition(
            actor=archivist, borrow=done, action="check", check_passed=True, note="完好"
        )
    for requester, purpose in (
        (staff["salesperson"], "准备年度价格谈判"),
        (staff["agent"], "核对客户开票信息"),
    ):
        document = pick(requester)
        if document is not None:
            # Left awaiting the manager's approval.
            services.borrow_request_create(
                actor=requester, document=document, purpose=purpose, due_back_on=today + dt.timedelta(days=5)
            )


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(username, full name, role name, department) of every demo account."""
    role_names = {definition.code: definition.name for definition in ROLE_DEFINITIONS}
    departments = {code: name for code, name, _parent in DEPARTMENTS}
    return [(p.username, p.full_name, role_names[p.role], departments[p.department]) for p in STAFF]


def print_logins(out: TextIO) -> None:
    out.write(f"\n演示账号 / demo logins — 密码 / password: {DEMO_PASSWORD}\n")
    for username, full_name, role, department in demo_logins():
        out.write(f"  {username:<25} {full_name}（{role}，{department}）\n")
    out.write("  admin 同时是超级管理员 / admin is also a superuser.\n\n")


def load_demo(*, out: TextIO | None = None, today: dt.date | None = None) -> bool:
    """Load the demo data; False (and nothing written) when it is already there."""
    out = out or sys.stdout
    if is_loaded():
        return False
    gen = _Generator(SEED, today or timezone.localdate())
    with transaction.atomic():
        admin, bootstrapped = _actor()
        departments, staff = _org(gen, admin, bootstrapped=bootstrapped)
        plans = _customer_plan(gen)
        contracts: list[CustomerDocument] = []
        for index, plan in enumerate(plans):
            data = (
                _company_data(gen, plan) if plan["kind"] == CustomerKind.COMPANY else _person_data(gen, plan)
            )
            department, owner = _assignment(gen, plan, departments, staff)
            data.update(lifecycle=plan["lifecycle"], department=department, owner=owner)
            if plan["lifecycle"] == Lifecycle.LOST:
                data["lost_reason"] = gen.rng.choice(LOST_REASONS)
            customer = services.customer_create(actor=admin, data=data, skip_permission=True)
            _contacts(gen, admin, customer, plan)
            product = next((i.product for i in INDUSTRIES if i.name == customer.industry), "")
            _history(gen, admin, customer, plan, product)
            if plan["kind"] == CustomerKind.COMPANY and ((plan["vip"] and index % 3 == 0) or index % 17 == 0):
                contracts.append(_documents(gen, admin, customer)[1])
        _borrowings(gen, staff, contracts)
        tickets = load_ticket_demo(
            rng=gen.rng, departments=departments, staff=staff, customers=list(Customer.objects.order_by("id"))
        )
        visits = load_visit_demo(rng=gen.rng, staff=staff)
        surveys = load_survey_demo(
            rng=gen.rng, admin=admin, staff=staff, customers=list(Customer.objects.order_by("id")[:300])
        )
        messages = load_messaging_demo(
            rng=gen.rng, staff=staff, customers=list(Customer.objects.order_by("id"))
        )
    counts = {
        "customers": Customer.objects.count(),
        "documents": CustomerDocument.objects.count(),
        "borrowings": BorrowRequest.objects.count(),
    }
    out.write(
        f"演示数据已载入 / demo data loaded: {counts['customers']} customers, "
        f"{counts['documents']} documents, {counts['borrowings']} borrowings, {tickets} tickets, "
        f"{visits} return visits, {surveys} surveys, {messages} messages, "
        f"{len(STAFF)} staff.\n"
    )
    return True
