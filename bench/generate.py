"""Fill the database the KEFU_* environment selects with a big, realistic customer archive.

    python bench/generate.py --customers 1000000 [--contacts-per-customer 2] [--batch 20000]

Staff and departments go through the ORM; customers, contacts and the two search-index tables
(CustomerPhone, CustomerNameGram) are bulk-loaded: executemany in big transactions on SQLite,
COPY on PostgreSQL, with the secondary indexes and (PostgreSQL) constraints dropped during the
load and rebuilt afterwards. The rows are what the services would have written: pinyin columns,
phone and name-fragment index rows, tiers by the tier policy in force, one TierChange per tiered
customer, archive numbers KH0000001… and the KH counter set to the last one.

Pinyin is computed once per name component (place, trade name, industry, suffix; surname and
given name), never per row; a sample of the generated rows is checked against kefu.core.pinyin.
A worker process generates the next batch while the main process writes this one (73 s instead
of ~90 s for a million customers on 2 CPUs); --workers 0 generates inline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from kefu.accounts.models import Department, Role, User
from kefu.accounts.roles import sync_roles
from kefu.core.models import Sequence as CounterRow
from kefu.core.phones import normalize_phone
from kefu.core.pinyin import bigrams, pinyin_full, pinyin_initials
from kefu.core.validators import (
    credit_code_check_char,
    id_number_check_char,
    is_valid_credit_code,
    is_valid_id_number,
)
from kefu.customers.models import (
    Contact,
    Customer,
    CustomerNameGram,
    CustomerPhone,
    TierChange,
    TierPolicy,
)

BENCH_PASSWORD = "kefu-bench-2026"
TIER_REASON = "Computed from the tier policy"  # what _apply_tier_policy writes (no zh translation yet)

# --- name and address pools ---------------------------------------------------------------------

# place, province, city, landline area code, administrative division code
PLACES = [
    ("杭州", "浙江省", "杭州市", "0571", "330106"),
    ("宁波", "浙江省", "宁波市", "0574", "330203"),
    ("温州", "浙江省", "温州市", "0577", "330302"),
    ("绍兴", "浙江省", "绍兴市", "0575", "330602"),
    ("嘉兴", "浙江省", "嘉兴市", "0573", "330402"),
    ("湖州", "浙江省", "湖州市", "0572", "330502"),
    ("金华", "浙江省", "金华市", "0579", "330702"),
    ("台州", "浙江省", "台州市", "0576", "331002"),
    ("南京", "江苏省", "南京市", "025", "320102"),
    ("苏州", "江苏省", "苏州市", "0512", "320505"),
    ("无锡", "江苏省", "无锡市", "0510", "320213"),
    ("常州", "江苏省", "常州市", "0519", "320402"),
    ("南通", "江苏省", "南通市", "0513", "320602"),
    ("扬州", "江苏省", "扬州市", "0514", "321002"),
    ("徐州", "江苏省", "徐州市", "0516", "320302"),
    ("镇江", "江苏省", "镇江市", "0511", "321102"),
    ("上海", "上海市", "上海市", "021", "310115"),
    ("北京", "北京市", "北京市", "010", "110105"),
    ("天津", "天津市", "天津市", "022", "120104"),
    ("广州", "广东省", "广州市", "020", "440106"),
    ("深圳", "广东省", "深圳市", "0755", "440305"),
    ("佛山", "广东省", "佛山市", "0757", "440604"),
    ("东莞", "广东省", "东莞市", "0769", "441900"),
    ("中山", "广东省", "中山市", "0760", "442000"),
    ("珠海", "广东省", "珠海市", "0756", "440402"),
    ("济南", "山东省", "济南市", "0531", "370102"),
    ("青岛", "山东省", "青岛市", "0532", "370212"),
    ("烟台", "山东省", "烟台市", "0535", "370602"),
    ("潍坊", "山东省", "潍坊市", "0536", "370702"),
    ("淄博", "山东省", "淄博市", "0533", "370302"),
    ("临沂", "山东省", "临沂市", "0539", "371302"),
    ("石家庄", "河北省", "石家庄市", "0311", "130102"),
    ("保定", "河北省", "保定市", "0312", "130602"),
    ("唐山", "河北省", "唐山市", "0315", "130202"),
    ("邯郸", "河北省", "邯郸市", "0310", "130402"),
    ("武汉", "湖北省", "武汉市", "027", "420106"),
    ("宜昌", "湖北省", "宜昌市", "0717", "420502"),
    ("襄阳", "湖北省", "襄阳市", "0710", "420602"),
    ("成都", "四川省", "成都市", "028", "510107"),
    ("绵阳", "四川省", "绵阳市", "0816", "510703"),
    ("郑州", "河南省", "郑州市", "0371", "410105"),
    ("洛阳", "河南省", "洛阳市", "0379", "410302"),
    ("长沙", "湖南省", "长沙市", "0731", "430102"),
    ("株洲", "湖南省", "株洲市", "0731", "430202"),
    ("福州", "福建省", "福州市", "0591", "350102"),
    ("厦门", "福建省", "厦门市", "0592", "350203"),
    ("泉州", "福建省", "泉州市", "0595", "350502"),
    ("合肥", "安徽省", "合肥市", "0551", "340102"),
    ("芜湖", "安徽省", "芜湖市", "0553", "340202"),
    ("南昌", "江西省", "南昌市", "0791", "360102"),
    ("赣州", "江西省", "赣州市", "0797", "360702"),
    ("西安", "陕西省", "西安市", "029", "610102"),
    ("宝鸡", "陕西省", "宝鸡市", "0917", "610302"),
    ("太原", "山西省", "太原市", "0351", "140105"),
    ("沈阳", "辽宁省", "沈阳市", "024", "210102"),
    ("大连", "辽宁省", "大连市", "0411", "210202"),
    ("长春", "吉林省", "长春市", "0431", "220102"),
    ("哈尔滨", "黑龙江省", "哈尔滨市", "0451", "230102"),
    ("昆明", "云南省", "昆明市", "0871", "530102"),
    ("贵阳", "贵州省", "贵阳市", "0851", "520102"),
    ("南宁", "广西壮族自治区", "南宁市", "0771", "450102"),
    ("柳州", "广西壮族自治区", "柳州市", "0772", "450202"),
    ("兰州", "甘肃省", "兰州市", "0931", "620102"),
    ("海口", "海南省", "海口市", "0898", "460105"),
    ("重庆", "重庆市", "重庆市", "023", "500103"),
    ("包头", "内蒙古自治区", "包头市", "0472", "150202"),
]
# Trade names (字号) are two characters, one from each list.
CORE_FIRST = (
    "恒华永宏金瑞鑫天众嘉远博德泰广汇东兴盛海同聚明安和中正立康润万锦凯富佳宝昌合新益大荣祥福隆鼎诚信"
)
CORE_SECOND = "丰信利达鹏源成诚禾航远润和通升业世川创力德泰青顺联信泽象程旋华美昌盛祥锐民"


@dataclass(frozen=True)
class Industry:
    word: str
    process: str
    materials: str


INDUSTRIES = [
    Industry("纸业", "制浆—抄纸—压光—复卷", "进口木浆、国产废纸"),
    Industry("化工", "合成—精馏—结晶—包装", "甲醇、液碱、硫酸"),
    Industry("饲料", "粉碎—配料—混合—制粒", "玉米、豆粕、麸皮"),
    Industry("金属制品", "酸洗—冷轧—退火—分条", "热轧卷板"),
    Industry("塑胶", "混料—造粒—注塑—检验", "聚乙烯、聚丙烯粒子"),
    Industry("食品", "清洗—配料—蒸煮—灌装", "面粉、食用油、白砂糖"),
    Industry("纺织", "清花—梳棉—纺纱—织造", "棉花、涤纶短纤"),
    Industry("建材", "配料—煅烧—粉磨—包装", "石灰石、粉煤灰、石膏"),
    Industry("包装", "印刷—覆膜—模切—糊盒", "白卡纸、瓦楞纸"),
    Industry("农资", "复配—造粒—筛分—包装", "尿素、磷酸一铵、氯化钾"),
    Industry("机械", "下料—焊接—机加工—装配", "钢板、铸件"),
    Industry("电子", "贴片—焊接—测试—包装", "芯片、线路板"),
    Industry("医药", "配料—制粒—压片—包衣", "原料药、辅料"),
    Industry("环保", "设计—制作—安装—调试", "钢材、滤料"),
    Industry("新材料", "聚合—改性—挤出—切粒", "树脂、助剂"),
    Industry("能源", "开采—洗选—运输", "原煤"),
    Industry("钢铁", "炼铁—炼钢—连铸—轧制", "铁矿石、焦炭"),
    Industry("印染", "前处理—染色—印花—定型", "坯布、染料"),
    Industry("陶瓷", "制粉—成型—施釉—烧成", "黏土、长石、石英"),
    Industry("家具", "开料—封边—打孔—组装", "板材、五金件"),
    Industry("服装", "裁剪—缝制—整烫—包装", "面料、辅料"),
    Industry("五金", "冲压—车削—电镀—装配", "冷轧板、铜材"),
    Industry("橡胶", "塑炼—混炼—压延—硫化", "天然橡胶、炭黑"),
    Industry("玻璃", "配料—熔化—成型—退火", "石英砂、纯碱"),
    Industry("电器", "钣金—喷涂—总装—检测", "冷轧板、电机"),
    Industry("汽配", "压铸—机加工—检测—装配", "铝锭、钢材"),
    Industry("水泥", "生料粉磨—熟料煅烧—水泥粉磨", "石灰石、黏土"),
    Industry("涂料", "预分散—研磨—调漆—过滤", "树脂、颜料、溶剂"),
    Industry("石化", "常减压—催化裂化—加氢精制", "原油"),
    Industry("物流", "仓储—分拣—配送", "周转箱、托盘"),
]
SUFFIXES = ["有限公司"] * 6 + ["股份有限公司", "有限责任公司", "集团有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
MALE_GIVEN = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志成文博宏海晨阳峰德新振永立光祥瑞天翔"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀玲桂英梅琳雪婷倩颖慧佳洁燕红萍晶莉欣怡涵雨晓春秋云宁丹玉兰凤霖嘉雅婉"
STREETS = [
    "建设路",
    "人民路",
    "解放路",
    "中山路",
    "新华路",
    "和平路",
    "工业大道",
    "科技园路",
    "兴业路",
    "滨江大道",
    "长江路",
    "黄河路",
    "东方路",
    "迎宾大道",
    "创业路",
]
COMPANY_TITLES = [
    "采购经理",
    "总经理",
    "财务主管",
    "生产厂长",
    "设备科长",
    "办公室主任",
    "采购专员",
    "董事长助理",
]
PERSON_TITLES = ["配偶", "子女", "助理"]
MOBILE_PREFIXES = [
    str(p)
    for p in (
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        198,
        199,
    )
]
MAIL_DOMAINS = ["163.com", "126.com", "qq.com", "sina.com", "foxmail.com", "aliyun.com"]
SOURCES_COMPANY = ["400热线", "展会", "老客户介绍", "官网询盘", "业务员开发", "招标"]
SOURCES_PERSON = ["门店办卡", "线上注册", "老会员推荐", "活动现场"]
LOST_REASONS = ["转向竞争对手采购", "企业停产整改", "价格谈不拢", "对售后响应速度不满意", "搬迁到外省"]
LIFECYCLES = ["potential", "opened", "purchasing", "closed", "lost"]
LIFECYCLE_WEIGHTS = [15, 20, 45, 8, 12]
CREDIT_RATINGS = ["", "", "AAA", "AA", "AA", "A", "A", "B", "C"]

# code, name, parent code
DEPARTMENTS = [
    ("bench-service", "客服部", None),
    ("bench-centre", "客服中心", "bench-service"),
    ("bench-complaints", "客诉中心", "bench-service"),
    ("bench-big", "大客户组", "bench-service"),
    ("bench-sales", "销售部", None),
    ("bench-east", "华东销售区", "bench-sales"),
    ("bench-south", "华南销售区", "bench-sales"),
    ("bench-north", "华北销售区", "bench-sales"),
]
# username, role code, full name, department code, owns customers
STAFF = [
    ("bench_manager", "manager", "王丽华", "bench-service", False),
    ("bench_supervisor", "supervisor", "李娜", "bench-centre", False),
    *[
        (f"bench_agent{n:02d}", "agent", f"客服专员{n:02d}", dept, True)
        for n, dept in enumerate(["bench-centre"] * 4 + ["bench-complaints"] * 3 + ["bench-big"] * 3, start=1)
    ],
    *[
        (f"bench_sales{n:02d}", "salesperson", f"业务员{n:02d}", dept, True)
        for n, dept in enumerate(["bench-east"] * 4 + ["bench-south"] * 3 + ["bench-north"] * 3, start=1)
    ],
]

# --- columns, in the order the rows are built ----------------------------------------------------

CUSTOMER_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "archive_number",
    "kind",
    "name",
    "short_name",
    "name_pinyin",
    "name_initials",
    "credit_code",
    "legal_representative",
    "registered_capital",
    "licence_valid_until",
    "tax_registration_number",
    "id_number",
    "gender",
    "birthday",
    "birthday_mmdd",
    "member_number",
    "member_since",
    "phone",
    "email",
    "province",
    "city",
    "address",
    "postcode",
    "website",
    "industry",
    "source",
    "lifecycle",
    "lifecycle_changed_at",
    "lost_reason",
    "is_vip",
    "brand_value",
    "annual_tons",
    "production_process",
    "raw_materials",
    "investment",
    "production_notes",
    "tier",
    "tier_source",
    "tier_reason",
    "credit_status",
    "credit_rating",
    "credit_limit",
    "credit_checked_on",
    "sms_opt_out",
    "notes",
    "last_trade_at",
    "last_contact_at",
    "version",
    "created_by_id",
    "department_id",
    "owner_id",
    "tier_policy_id",
]
CONTACT_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "customer_id",
    "name",
    "name_pinyin",
    "name_initials",
    "title",
    "is_primary",
    "gender",
    "mobile",
    "telephone",
    "qq",
    "wechat",
    "email",
    "address",
    "birthday",
    "birthday_mmdd",
    "notes",
    "version",
]
PHONE_COLUMNS = ["customer_id", "contact_id", "number"]
GRAM_COLUMNS = ["customer_id", "gram", "department_id", "owner_id"]
TIER_CHANGE_COLUMNS = [
    "customer_id",
    "at",
    "from_tier",
    "to_tier",
    "source",
    "reason",
    "policy_id",
    "actor_id",
]
TABLES = [
    (Customer, CUSTOMER_COLUMNS),
    (Contact, CONTACT_COLUMNS),
    (CustomerPhone, PHONE_COLUMNS),
    (CustomerNameGram, GRAM_COLUMNS),
    (TierChange, TIER_CHANGE_COLUMNS),
]
AUTO_ID_MODELS = {CustomerPhone, CustomerNameGram, TierChange}


def check_columns() -> None:
    """Fail early when the models gained or lost a column this loader does not fill."""
    for model, columns in TABLES:
        expected = {f.column for f in model._meta.concrete_fields}
        if model in AUTO_ID_MODELS:
            expected.discard("id")
        if expected != set(columns):
            raise SystemExit(
                f"{model._meta.db_table}: the loader's columns differ from the model: "
                f"missing {sorted(expected - set(columns))}, unknown {sorted(set(columns) - expected)}"
            )


# --- pinyin per component ---------------------------------------------------------------------------


@dataclass
class Pools:
    """Name components with their pinyin computed once, pruned of the rare combinations where the
    pinyin of the whole differs from the pinyin of its parts (a phrase across the boundary)."""

    places: list[tuple[str, str, str, str, str]]
    place_py: list[tuple[str, str]]
    cores: list[str]
    core_py: list[tuple[str, str]]
    industry_py: list[tuple[str, str]]
    suffix_py: list[tuple[str, str]]
    surnames: list[str]
    surname_py: list[tuple[str, str]]
    male: list[str]
    female: list[str]
    given_py: dict[str, tuple[str, str]] = field(default_factory=dict)
    landlines: dict[str, tuple[int, str]] = field(default_factory=dict)


def _py(text: str) -> tuple[str, str]:
    return pinyin_full(text), pinyin_initials(text)


def build_pools(seed: int) -> Pools:
    rng = random.Random(seed)
    cores = sorted({a + b for a in CORE_FIRST for b in CORE_SECOND if a != b})
    surnames = list(SURNAMES)
    male = list(MALE_GIVEN)
    female = list(FEMALE_GIVEN)
    # Two-character given names are used as units: their pinyin is computed as a whole.
    given_py = {g: _py(g) for g in male + female}
    for chars in (male, female):
        for a in chars:
            for b in chars:
                if a != b:
                    given_py[a + b] = _py(a + b)
    surname_py = {s: _py(s) for s in surnames}
    # Every surname + first given character, and a sample of full names: drop a given character
    # that reads differently after some surname (于思 is the only one in these pools).
    bad_given: set[str] = set()
    for s in surnames:
        for g in male + female:
            if _py(s + g) != tuple(x + y for x, y in zip(surname_py[s], given_py[g], strict=True)):
                bad_given.add(g)
    male = [g for g in male if g not in bad_given]
    female = [g for g in female if g not in bad_given]
    given_py = {g: p for g, p in given_py.items() if not (set(g) & bad_given)}
    place_py = {p[0]: _py(p[0]) for p in PLACES}
    core_py = {c: _py(c) for c in cores}
    industry_py = {i.word: _py(i.word) for i in INDUSTRIES}
    suffix_py = {s: _py(s) for s in SUFFIXES}
    bad_cores: set[str] = set()
    for _ in range(8000):
        parts = [rng.choice(PLACES)[0], rng.choice(cores), rng.choice(INDUSTRIES).word, rng.choice(SUFFIXES)]
        pys = [place_py[parts[0]], core_py[parts[1]], industry_py[parts[2]], suffix_py[parts[3]]]
        if _py("".join(parts)) != ("".join(p[0] for p in pys), "".join(p[1] for p in pys)):
            bad_cores.add(parts[1])
    cores = [c for c in cores if c not in bad_cores]
    return Pools(
        places=PLACES,
        place_py=[place_py[p[0]] for p in PLACES],
        cores=cores,
        core_py=[core_py[c] for c in cores],
        industry_py=[industry_py[i.word] for i in INDUSTRIES],
        suffix_py=[suffix_py[s] for s in SUFFIXES],
        surnames=surnames,
        surname_py=[surname_py[s] for s in surnames],
        male=male,
        female=female,
        given_py=given_py,
        landlines=_landline_patterns(),
    )


def _landline_patterns() -> dict[str, tuple[int, str]]:
    """For each area code, the local-number length and the first digits for which every number is valid."""
    rng = random.Random(7)
    result: dict[str, tuple[int, str]] = {}
    for area in sorted({p[3] for p in PLACES}):
        for length in (8, 7):
            good = ""
            for first in "2345678":
                numbers = [
                    f"{area}{first}{rng.randrange(10 ** (length - 1)):0{length - 1}d}" for _ in range(60)
                ]
                if all(normalize_phone(n) == n for n in numbers):
                    good += first
            if good:
                result[area] = (length, good)
                break
        else:
            raise SystemExit(f"no valid landline pattern found for area code {area}")
    return result


# --- row generation ------------------------------------------------------------------------------------

COMBO_STEP = 7_919  # prime: customer id → (place, trade name, industry) is a permutation, so names are unique
# Coprime with 2, 3, 5 and 7: counter → number is a permutation, so numbers are unique, yet look random.
NUMBER_STEP = 73_939_133
START = dt.datetime(2017, 1, 1, tzinfo=dt.UTC).timestamp()
EPOCH = dt.datetime(1970, 1, 1)


def mobile_number(counter: int) -> str:
    prefixes = len(MOBILE_PREFIXES)
    return MOBILE_PREFIXES[counter % prefixes] + f"{(counter * NUMBER_STEP + 12_345_678) % 10**8:08d}"


def landline_number(counter: int, area: str, pattern: tuple[int, str]) -> tuple[str, str]:
    """(as typed, normalized) for a landline in the area, unique per counter."""
    length, firsts = pattern
    rest = 10 ** (length - 1)
    q = (counter * NUMBER_STEP + 1_234_567) % (len(firsts) * rest)
    local = firsts[q // rest] + f"{q % rest:0{length - 1}d}"
    return f"{area}-{local}", area + local


@dataclass
class Context:
    """Everything a batch needs, fixed before the load starts (the worker gets it by fork)."""

    pools: Pools
    customers: int
    contacts_per_customer: int
    seed: int
    vendor: str
    owners: list[tuple[int, int]]  # (user id, department id)
    policy_id: int | None
    a_min: float
    b_min: float
    brand_makes_a: bool
    scale_makes_vip: bool
    now: float


@dataclass
class Batch:
    lo: int
    hi: int
    rows: dict[str, list[tuple[Any, ...]]]
    seconds: float


CTX: Context | None = None


def make_batch(bounds: tuple[int, int]) -> Batch:
    assert CTX is not None
    started = time.perf_counter()
    lo, hi = bounds
    ctx = CTX
    pools = ctx.pools
    rng = random.Random(ctx.seed * 1_000_003 + lo)
    pg = ctx.vendor == "postgresql"
    tz = "+00" if pg else ""
    true, false = (True, False) if pg else (1, 0)

    # Django stores UTC: naive text on SQLite, timestamptz on PostgreSQL.
    def ts(seconds: float) -> str:
        return (EPOCH + dt.timedelta(seconds=int(seconds))).isoformat(" ") + tz

    def day(seconds: float) -> str:
        return (EPOCH + dt.timedelta(seconds=int(seconds))).date().isoformat()

    def person(gender: str) -> tuple[str, str, str]:
        s = rng.randrange(len(pools.surnames))
        chars = pools.male if gender == "m" else pools.female
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
        while given not in pools.given_py:  # a repeated character (华华) is not in the pool
            given = rng.choice(chars)
        sp, gp = pools.surname_py[s], pools.given_py[given]
        return pools.surnames[s] + given, sp[0] + gp[0], sp[1] + gp[1]

    customers: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    phones: list[tuple[Any, ...]] = []
    grams: list[tuple[Any, ...]] = []
    tier_changes: list[tuple[Any, ...]] = []
    span = ctx.now - 86_400 - START
    per = ctx.contacts_per_customer
    n_places, n_cores, n_ind, n_suf = len(pools.places), len(pools.cores), len(INDUSTRIES), len(SUFFIXES)
    combos = n_places * n_cores * n_ind
    assert math.gcd(COMBO_STEP, combos) == 1 and ctx.customers < combos
    for cid in range(lo, hi):
        created = START + span * (cid - 1) / ctx.customers + rng.random() * span / ctx.customers
        owner_id, department_id = ctx.owners[rng.randrange(len(ctx.owners))]
        place = pools.places[rng.randrange(n_places)]
        company = rng.random() < 0.7
        lifecycle = rng.choices(LIFECYCLES, LIFECYCLE_WEIGHTS)[0]
        birthday = birthday_mmdd = id_number = member_number = member_since = credit_code = None
        legal = industry_word = process = materials = tax = website = ""
        capital = licence = investment = tons = None
        gender = ""
        if company:
            # A permutation of the customer id over all combinations keeps company names unique.
            k = (cid * COMBO_STEP + 104_729) % combos
            pi, ci, ii = k % n_places, k // n_places % n_cores, k // (n_places * n_cores)
            place = pools.places[pi]
            si = rng.randrange(n_suf)
            industry = INDUSTRIES[ii]
            short_name = pools.cores[ci] + industry.word
            name = place[0] + short_name + SUFFIXES[si]
            parts = (pools.place_py[pi], pools.core_py[ci], pools.industry_py[ii], pools.suffix_py[si])
            name_pinyin = "".join(p[0] for p in parts)
            name_initials = "".join(p[1] for p in parts)
            first17 = f"91{place[4]}{(cid * 7_919) % 10**9:09d}"
            credit_code = first17 + credit_code_check_char(first17)
            tax = credit_code
            legal = person(rng.choice("mf"))[0]
            capital = f"{rng.choice([50, 100, 200, 500, 1000, 2000, 5000])}.00"
            licence = day(ctx.now + rng.randrange(-60, 3650) * 86_400)
            industry_word = industry.word
            process, materials = industry.process, industry.materials
            investment = f"{rng.randrange(100, 50_000)}.00"
            roll = rng.random()
            if roll < 0.03:
                tons_value = rng.uniform(20_000, 90_000)
            elif roll < 0.09:
                tons_value = rng.uniform(10_000, 20_000)
            else:
                tons_value = 10 ** rng.uniform(1.5, 4)
            tons = f"{tons_value:.2f}" if rng.random() < 0.92 else None
            is_vip = rng.random() < 0.08
            brand_value = rng.random() < 0.003
            phone, phone_normalized = landline_number(cid, place[3], pools.landlines[place[3]])
            email = (
                f"{pools.core_py[ci][0]}{cid % 1000}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.6 else ""
            )
            website = (
                f"www.{pools.core_py[ci][0]}{pools.industry_py[ii][1]}.com" if rng.random() < 0.3 else ""
            )
            source = rng.choice(SOURCES_COMPANY)
        else:
            gender = rng.choice("mf")
            name, name_pinyin, name_initials = person(gender)
            short_name = ""
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20_000))
            birthday = born.isoformat()
            birthday_mmdd = born.strftime("%m%d")
            first17 = f"{place[4]}{born:%Y%m%d}{rng.randrange(50):02d}{rng.choice('13579' if gender == 'm' else '02468')}"
            id_number = first17 + id_number_check_char(first17)
            member_number = f"M{cid:09d}"
            member_since = day(created)
            is_vip = rng.random() < 0.05
            brand_value = False
            # The member's own mobile is also the first contact's (本人).
            phone = phone_normalized = mobile_number((cid - 1) * per + 1)
            email = f"{name_pinyin}{cid % 10_000}@{rng.choice(MAIL_DOMAINS)}" if rng.random() < 0.3 else ""
            source = rng.choice(SOURCES_PERSON)
        value = float(tons) if tons is not None else 0.0
        if (brand_value and ctx.brand_makes_a) or (value >= ctx.a_min and (is_vip or ctx.scale_makes_vip)):
            tier = "A"
        elif value >= ctx.b_min and (is_vip or ctx.scale_makes_vip):
            tier = "B"
        else:
            tier = "C" if is_vip else ""
        now = ctx.now
        changed = created
        last_trade = last_contact = None
        lost_reason = ""
        if lifecycle != "potential":
            changed = created + rng.random() * (now - created) * 0.5
            if lifecycle in ("closed", "lost"):
                last_trade = created + rng.random() * max(0.0, now - 200 * 86_400 - created)
                lost_reason = rng.choice(LOST_REASONS) if lifecycle == "lost" else ""
            else:
                last_trade = created + rng.random() * (now - created)
        if rng.random() < 0.85:
            last_contact = created + rng.random() * (now - created)
        updated = max(x for x in (created, changed, last_trade, last_contact) if x is not None)
        address = f"{place[2]}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
        credit_rating = rng.choice(CREDIT_RATINGS)
        customers.append(
            (
                cid,
                ts(created),
                ts(updated),
                f"KH{cid:07d}",
                "company" if company else "person",
                name,
                short_name,
                name_pinyin[:400],
                name_initials[:200],
                credit_code,
                legal,
                capital,
                licence,
                tax,
                id_number or "",
                gender,
                birthday,
                birthday_mmdd or "",
                member_number,
                member_since,
                phone,
                email,
                place[1],
                place[2],
                address,
                f"{place[4][:4]}00",
                website,
                industry_word,
                source,
                lifecycle,
                ts(changed),
                lost_reason,
                true if is_vip else false,
                true if brand_value else false,
                tons,
                process,
                materials,
                investment,
                "",
                tier,
                "policy",
                TIER_REASON,
                "",
                credit_rating,
                f"{rng.randrange(1, 500) * 10_000}.00" if credit_rating else None,
                day(created + rng.random() * (now - created)) if credit_rating else None,
                false,
                "",
                ts(last_trade) if last_trade else None,
                ts(last_contact) if last_contact else None,
                1,
                owner_id,
                department_id,
                owner_id,
                ctx.policy_id,
            )
        )
        if tier:
            tier_changes.append((cid, ts(created), "", tier, "policy", TIER_REASON, ctx.policy_id, owner_id))
        numbers = {(None, phone_normalized)}
        for gram in sorted(bigrams(name, short_name)):
            grams.append((cid, gram, department_id, owner_id))
        for n in range(per):
            kid = (cid - 1) * per + n + 1
            mobile = mobile_number(kid)
            if not company and n == 0:
                c_name, c_py, c_init, c_gender, title = name, name_pinyin, name_initials, gender, "本人"
                c_birthday = birthday
            else:
                c_gender = rng.choice("mf")
                c_name, c_py, c_init = person(c_gender)
                title = rng.choice(COMPANY_TITLES if company else PERSON_TITLES)
                c_birthday = (
                    (dt.date(1955, 1, 1) + dt.timedelta(days=rng.randrange(17_000))).isoformat()
                    if rng.random() < 0.6
                    else None
                )
            telephone = ""
            if company and rng.random() < 0.3:
                telephone, tel_normalized = landline_number(
                    ctx.customers + kid, place[3], pools.landlines[place[3]]
                )
                numbers.add((kid, tel_normalized))
            numbers.add((kid, mobile))
            c_created = created + n * 60
            contacts.append(
                (
                    kid,
                    ts(c_created),
                    ts(c_created),
                    cid,
                    c_name,
                    c_py[:200],
                    c_init[:50],
                    title,
                    true if n == 0 else false,
                    c_gender,
                    mobile,
                    telephone,
                    str(100_000_000 + kid * 7 % 900_000_000) if rng.random() < 0.2 else "",
                    f"wx_{c_py}{kid % 1000}" if rng.random() < 0.3 else "",
                    "",
                    "",
                    c_birthday,
                    c_birthday[5:7] + c_birthday[8:10] if c_birthday else "",
                    "",
                    1,
                )
            )
        phones.extend((cid, contact_id, number) for contact_id, number in numbers)
    rows = {
        "customer": customers,
        "contact": contacts,
        "phone": phones,
        "gram": grams,
        "tier_change": tier_changes,
    }
    return Batch(lo, hi, rows, time.perf_counter() - started)


# --- the database side -------------------------------------------------------------------------------------

TABLE_OF = {
    "customer": Customer,
    "contact": Contact,
    "phone": CustomerPhone,
    "gram": CustomerNameGram,
    "tier_change": TierChange,
}
COLUMNS_OF = {
    "customer": CUSTOMER_COLUMNS,
    "contact": CONTACT_COLUMNS,
    "phone": PHONE_COLUMNS,
    "gram": GRAM_COLUMNS,
    "tier_change": TIER_CHANGE_COLUMNS,
}


def ensure_staff() -> list[tuple[int, int]]:
    """The bench department tree and staff (idempotent); returns the owners of customers."""
    sync_roles()
    roles = {role.code: role for role in Role.objects.select_related("group")}
    departments: dict[str, Department] = {}
    with transaction.atomic():
        for code, name, parent in DEPARTMENTS:
            dept, _ = Department.objects.get_or_create(
                code=code, defaults={"name": name, "parent": departments.get(parent) if parent else None}
            )
            departments[code] = dept
        password = make_password(BENCH_PASSWORD)
        owners = []
        for username, role, full_name, dept_code, owns in STAFF:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "full_name": full_name,
                    "department": departments[dept_code],
                    "password": password,
                    "title": roles[role].name,
                },
            )
            if created:
                user.groups.add(roles[role].group)
            if owns:
                owners.append((user.pk, user.department_id))
    return owners


def referencing_models() -> list[Any]:
    """Every model whose rows point (directly or not) at a customer, children first."""
    found: list[Any] = [Customer]
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model in found:
                continue
            if any(
                f.is_relation and f.many_to_one and f.related_model in found
                for f in model._meta.concrete_fields
            ):
                found.append(model)
                changed = True
    return list(reversed(found))


def wipe() -> None:
    models = referencing_models()
    tables = [m._meta.db_table for m in models]
    print(f"--force: emptying {', '.join(tables)}", flush=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')
            cursor.execute("PRAGMA foreign_keys=ON")
    CounterRow.objects.filter(key="KH").delete()


@dataclass
class Dropped:
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (table, create sql)
    constraints: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # (table, name, type, definition)


def drop_secondary(tables: Sequence[str]) -> Dropped:
    """Indexes (and on PostgreSQL constraints) are rebuilt once after the load: much faster than
    maintaining them row by row."""
    dropped = Dropped()
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=%s AND sql IS NOT NULL",
                    [table],
                )
                for name, sql in cursor.fetchall():
                    dropped.indexes.append((table, sql))
                    cursor.execute(f'DROP INDEX "{name}"')
            else:
                cursor.execute(
                    "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
                    [table],
                )
                for name, kind, definition in cursor.fetchall():
                    dropped.constraints.append((table, name, kind, definition))
                    cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                cursor.execute(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.conrelid = %s::regclass)",
                    [table, table],
                )
                for name, sql in cursor.fetchall():
                    dropped.indexes.append((table, sql))
                    cursor.execute(f'DROP INDEX "{name}"')
    return dropped


def rebuild(dropped: Dropped, timings: dict[str, float]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '1GB'")
        for table, sql in dropped.indexes:
            started = time.perf_counter()
            cursor.execute(sql)
            timings[table] = timings.get(table, 0.0) + time.perf_counter() - started
        # Unique constraints first: a duplicate is the cheaper failure to find.
        for table, name, _kind, definition in sorted(dropped.constraints, key=lambda c: c[2] == "f"):
            started = time.perf_counter()
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            timings[table] = timings.get(table, 0.0) + time.perf_counter() - started


class Writer:
    """executemany (SQLite) or COPY (PostgreSQL) of each batch, one table after the other, timed.

    The tickets generator uses it with its own tables; rows are tuples in the columns' order.
    """

    def __init__(
        self, tables: dict[str, Any] | None = None, columns: dict[str, list[str]] | None = None
    ) -> None:
        self.tables = tables or TABLE_OF
        self.columns = columns or COLUMNS_OF
        self.vendor = connection.vendor
        self.seconds: dict[str, float] = dict.fromkeys(self.tables, 0.0)
        self.rows: dict[str, int] = dict.fromkeys(self.tables, 0)

    def write(self, batch: Any) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for key, model in self.tables.items():
                rows = batch.rows[key]
                if not rows:
                    continue
                started = time.perf_counter()
                table = model._meta.db_table
                columns = self.columns[key]
                names = ", ".join(f'"{c}"' for c in columns)
                if self.vendor == "postgresql":
                    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join("?" * len(columns))
                    connection.connection.executemany(
                        f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows
                    )
                self.seconds[key] += time.perf_counter() - started
                self.rows[key] += len(rows)


def pipelined(make: Callable[[tuple[int, int]], Any], total: int, batch: int, workers: int) -> Iterator[Any]:
    """`make` each id range (1 … total, `batch` at a time) in worker processes while the caller writes."""
    bounds = [(lo, min(lo + batch, total + 1)) for lo in range(1, total + 1, batch)]
    if workers <= 0:
        for b in bounds:
            yield make(b)
        return
    # At most a few batches wait in memory when the writer is the slower side.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque[Any] = deque()
        for b in bounds:
            pending.append(pool.apply_async(make, (b,)))
            if len(pending) > workers + 1:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def batches(ctx: Context, batch: int, workers: int) -> Iterator[Batch]:
    return pipelined(make_batch, ctx.customers, batch, workers)


def verify_sample(ctx: Context, sample: int = 3000) -> None:
    """The generated rows must be what the services would have written."""
    rng = random.Random(ctx.seed)
    policy = TierPolicy.objects.filter(pk=ctx.policy_id).first() or TierPolicy()
    ids = [rng.randrange(1, ctx.customers + 1) for _ in range(sample)]
    customers = Customer.objects.filter(pk__in=ids).prefetch_related("contacts")
    checked = 0
    for customer in customers:
        problems = []
        if customer.name_pinyin != pinyin_full(customer.name)[:400]:
            problems.append(f"name_pinyin {customer.name_pinyin} != {pinyin_full(customer.name)}")
        if customer.name_initials != pinyin_initials(customer.name)[:200]:
            problems.append(f"name_initials {customer.name_initials} != {pinyin_initials(customer.name)}")
        expected_tier = policy.tier_for(
            annual_tons=customer.annual_tons, brand_value=customer.brand_value, is_vip=customer.is_vip
        )
        if customer.tier != expected_tier:
            problems.append(f"tier {customer.tier} != {expected_tier}")
        if customer.credit_code and not is_valid_credit_code(customer.credit_code):
            problems.append(f"credit code {customer.credit_code}")
        if customer.id_number and not is_valid_id_number(customer.id_number):
            problems.append(f"id number {customer.id_number}")
        numbers = set()
        if normalize_phone(customer.phone):
            numbers.add((None, normalize_phone(customer.phone)))
        else:
            problems.append(f"invalid phone {customer.phone}")
        for contact in customer.contacts.all():
            if (contact.name_pinyin, contact.name_initials) != (
                pinyin_full(contact.name),
                pinyin_initials(contact.name),
            ):
                problems.append(
                    f"contact pinyin {contact.name} {contact.name_pinyin} {contact.name_initials}"
                )
            for raw in (contact.mobile, contact.telephone):
                if raw:
                    normalized = normalize_phone(raw)
                    if not normalized:
                        problems.append(f"invalid contact phone {raw}")
                    numbers.add((contact.pk, normalized))
        stored = set(CustomerPhone.objects.filter(customer=customer).values_list("contact_id", "number"))
        if stored != numbers:
            problems.append(f"phone index {sorted(stored, key=str)} != {sorted(numbers, key=str)}")
        grams = set(
            CustomerNameGram.objects.filter(customer=customer).values_list(
                "gram", "department_id", "owner_id"
            )
        )
        if grams != {
            (gram, customer.department_id, customer.owner_id)
            for gram in bigrams(customer.name, customer.short_name)
        }:
            problems.append("name grams differ")
        if problems:
            raise SystemExit(
                f"generated customer {customer.archive_number} {customer.name} is inconsistent: {problems}"
            )
        checked += 1
    print(
        f"checked {checked} random customers against kefu.core.pinyin, phones, tiers, grams: all consistent"
    )


def main(argv: list[str] | None = None) -> int:
    global CTX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--contacts-per-customer", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument(
        "--workers", type=int, default=1, help="generator processes beside the writer (0: inline)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="empty the customer tables first")
    args = parser.parse_args(argv)
    if args.contacts_per_customer < 1:
        parser.error("--contacts-per-customer must be at least 1")
    if args.customers * (1 + args.contacts_per_customer) >= 10**7:
        parser.error("the landline numbering supports fewer than 10 million customers + contacts")

    check_columns()
    print(f"database: {database_label()}", flush=True)
    if Customer.objects.exists():
        if not args.force:
            print(
                "The customer table is not empty; run with --force to empty the customer tables first.",
                file=sys.stderr,
            )
            return 2
        wipe()
    total_started = time.perf_counter()
    owners = ensure_staff()
    policy = TierPolicy.in_force()
    started = time.perf_counter()
    pools = build_pools(args.seed)
    print(
        f"name pools: {len(pools.cores)} trade names × {len(PLACES)} places × {len(INDUSTRIES)} industries, "
        f"{len(pools.given_py)} given names; pinyin precomputed in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    CTX = Context(
        pools=pools,
        customers=args.customers,
        contacts_per_customer=args.contacts_per_customer,
        seed=args.seed,
        vendor=connection.vendor,
        owners=owners,
        policy_id=policy.pk,
        a_min=float(policy.a_min_tons),
        b_min=float(policy.b_min_tons),
        brand_makes_a=policy.brand_value_makes_a,
        scale_makes_vip=policy.scale_makes_vip,
        now=time.time(),
    )
    tables = [TABLE_OF[k]._meta.db_table for k in TABLE_OF]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for pragma in ("synchronous=OFF", "foreign_keys=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
                cursor.execute(f"PRAGMA {pragma}")
        else:
            cursor.execute("SET synchronous_commit = off")
    dropped = drop_secondary(tables)
    writer = Writer()
    generate_seconds = 0.0
    load_started = time.perf_counter()
    index_seconds: dict[str, float] = {}
    try:
        for batch in batches(CTX, args.batch, args.workers):
            writer.write(batch)
            generate_seconds += batch.seconds
            done = batch.hi - 1
            elapsed = time.perf_counter() - load_started
            print(f"  {done:>9,} customers  {elapsed:7.1f} s  {done / elapsed:8,.0f} customers/s", flush=True)
    finally:
        # Even after a failed load the schema gets its indexes back.
        load_seconds = time.perf_counter() - load_started
        started = time.perf_counter()
        rebuild(dropped, index_seconds)
        rebuild_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in tables:
                cursor.execute(f'PRAGMA foreign_key_check("{table}")')
                if cursor.fetchone():
                    raise SystemExit(f"{table}: rows point at missing rows")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        else:
            for table in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
    check_seconds = time.perf_counter() - started
    CounterRow.objects.update_or_create(key="KH", defaults={"value": args.customers})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for table in tables:
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    analyze_seconds = time.perf_counter() - started
    total = time.perf_counter() - total_started

    print()
    print(f"{'table':<30} {'rows':>12} {'insert s':>9} {'rows/s':>10} {'index s':>8}")
    for key, model in TABLE_OF.items():
        table = model._meta.db_table
        rows, seconds = writer.rows[key], writer.seconds[key]
        print(
            f"{table:<30} {rows:>12,} {seconds:>9.1f} {rows / max(seconds, 1e-9):>10,.0f} "
            f"{index_seconds.get(table, 0.0):>8.1f}"
        )
    all_rows = sum(writer.rows.values())
    print(f"row generation (worker, overlapped with inserts): {generate_seconds:.1f} s")
    print(
        f"load {load_seconds:.1f} s, indexes/constraints {rebuild_seconds:.1f} s, "
        f"{'foreign-key check' if connection.vendor == 'sqlite' else 'sequences'} {check_seconds:.1f} s, "
        f"{'ANALYZE' if connection.vendor == 'sqlite' else 'VACUUM ANALYZE'} {analyze_seconds:.1f} s"
    )
    print(
        f"total {total:.1f} s for {all_rows:,} rows ({all_rows / total:,.0f} rows/s); "
        f"{args.customers:,} customers ({args.customers / total:,.0f}/s)"
    )
    print(f"database size: {database_size() / 2**30:.2f} GiB")
    verify_sample(CTX)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
