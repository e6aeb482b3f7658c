from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kefu.customers import selectors, services
from kefu.customers.models import ChurnPolicy, Customer, CustomerNameGram, Lifecycle
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def names(queryset):
    return {c.name for c in queryset}


def search(user, q):
    return names(selectors.customer_list(user=user, filters=selectors.CustomerFilters(q=q)))


@pytest.fixture
def archive(users):
    manager = users["manager"]
    zhang = make_customer(actor=manager, name="张三", kind="person", phone="13812345678")
    make_customer(actor=manager, name="北京张三丰科技有限公司", phone="010-88886666")
    make_customer(actor=manager, name="李四商贸", phone="13900001111")
    other = make_customer(actor=manager, name="王五实业", phone="13700002222")
    make_contact(actor=manager, customer=other, name="赵敏", mobile="13600003333")
    return {"zhang": zhang, "other": other}


@pytest.mark.parametrize("query", ["zs", "ZS", "zhangsan", "张三", "zhang"])
def test_agent_finds_zhang_san_by_pinyin_initials_full_pinyin_or_name(users, archive, query):
    assert "张三" in search(users["manager"], query)


def test_name_fragment_finds_companies_containing_it(users, archive):
    assert search(users["manager"], "三丰") == {"北京张三丰科技有限公司"}


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086-138-1234-5678",
    ],
)
def test_phone_in_any_format_finds_the_customer(users, archive, typed):
    assert search(users["manager"], typed) == {"张三"}


def test_landline_with_or_without_dashes(users, archive):
    assert search(users["manager"], "01088886666") == {"北京张三丰科技有限公司"}
    assert search(users["manager"], "(010) 8888-6666") == {"北京张三丰科技有限公司"}


def test_contact_name_and_contact_phone_find_their_customer(users, archive):
    assert search(users["manager"], "赵敏") == {"王五实业"}
    assert search(users["manager"], "zm") == {"王五实业"}
    assert search(users["manager"], "136 0000 3333") == {"王五实业"}


def test_archive_number_finds_exactly_one(users, archive):
    number = archive["zhang"].archive_number
    assert search(users["manager"], number.lower()) == {"张三"}


def test_phone_prefix_finds_matching_numbers(users, archive):
    assert search(users["manager"], "1390000") == {"李四商贸"}


def test_lookup_by_phone_only_takes_complete_numbers(users, archive):
    assert names(selectors.customer_lookup_by_phone(user=users["manager"], phone="+86 139-0000-1111")) == {
        "李四商贸"
    }
    assert not selectors.customer_lookup_by_phone(user=users["manager"], phone="1390000").exists()


def test_data_scope_agent_sees_own_department_technician_only_own_manager_all(users, make_user):
    from_centre = make_customer(actor=users["agent"], name="客服中心客户")
    from_big = make_customer(actor=users["big_customer_specialist"], name="大客户组客户")
    technician_customer = make_customer(
        actor=users["manager"], name="技术员的客户", owner=users["technician"]
    )
    colleague = make_user("agent", department="centre")
    assert names(Customer.objects.visible_to(colleague)) == {from_centre.name}
    assert names(Customer.objects.visible_to(users["technician"])) == {technician_customer.name}
    assert {from_centre.name, from_big.name, technician_customer.name} <= names(
        Customer.objects.visible_to(users["manager"])
    )
    assert from_big.name not in names(Customer.objects.visible_to(users["supervisor"]))
    assert from_centre.name in names(Customer.objects.visible_to(users["supervisor"]))


def test_inactive_user_sees_nothing(users, archive):
    agent = users["manager"]
    agent.is_active = False
    assert not Customer.objects.visible_to(agent).exists()


def test_big_customer_list_holds_tiers_a_b_c_in_order(users):
    manager = users["manager"]
    make_customer(actor=manager, name="C客户", is_vip=True, annual_tons=Decimal("100"))
    make_customer(actor=manager, name="A客户", annual_tons=Decimal("30000"))
    make_customer(actor=manager, name="B客户", annual_tons=Decimal("15000"))
    make_customer(actor=manager, name="普通客户")
    assert [c.name for c in selectors.big_customers(user=manager)] == ["A客户", "B客户", "C客户"]
    assert [c.name for c in selectors.big_customers(user=manager, tier="B")] == ["B客户"]


def test_at_risk_list_uses_the_churn_policy(users):
    manager = users["manager"]
    now = timezone.now()
    quiet = make_customer(actor=manager, name="沉默客户", lifecycle=Lifecycle.PURCHASING)
    active = make_customer(actor=manager, name="活跃客户", lifecycle=Lifecycle.PURCHASING)
    closed = make_customer(actor=manager, name="已销户", lifecycle=Lifecycle.CLOSED)
    Customer.objects.filter(pk__in=[quiet.pk, active.pk, closed.pk]).update(
        created_at=now - dt.timedelta(days=400)
    )
    Customer.objects.filter(pk=quiet.pk).update(
        last_trade_at=now - dt.timedelta(days=200), last_contact_at=now - dt.timedelta(days=100)
    )
    Customer.objects.filter(pk=active.pk).update(
        last_trade_at=now - dt.timedelta(days=200), last_contact_at=now - dt.timedelta(days=10)
    )
    assert names(selectors.at_risk_customers(user=manager)) == {"沉默客户"}
    strict = ChurnPolicy(days_without_trade=180, days_without_contact=5)
    assert names(selectors.at_risk_customers(user=manager, policy=strict)) == {"沉默客户", "活跃客户"}


def test_new_customer_is_not_at_risk_before_the_window_passes(users):
    make_customer(actor=users["manager"], name="新客户", lifecycle=Lifecycle.OPENED)
    assert not selectors.at_risk_customers(user=users["manager"]).exists()


def test_birthdays_across_the_year_end_soonest_first(users):
    manager = users["manager"]
    today = dt.date(2026, 12, 28)
    make_customer(actor=manager, name="新年会员", kind="person", birthday=dt.date(1990, 1, 2))
    make_customer(actor=manager, name="年末会员", kind="person", birthday=dt.date(1985, 12, 30))
    make_customer(actor=manager, name="春天会员", kind="person", birthday=dt.date(1985, 3, 30))
    customer = make_customer(actor=manager, name="企业")
    make_contact(actor=manager, customer=customer, name="联系人甲", birthday=dt.date(1980, 12, 28))
    rows = selectors.upcoming_birthdays(user=manager, days=7, today=today)
    assert [r.name for r in rows] == ["联系人甲", "年末会员", "新年会员"]
    assert rows[2].next_birthday == dt.date(2027, 1, 2)
    assert rows[2].turning == 37


def test_leap_day_birthday_is_celebrated_on_first_of_march(users):
    manager = users["manager"]
    make_customer(actor=manager, name="闰日会员", kind="person", birthday=dt.date(2000, 2, 29))
    rows = selectors.upcoming_birthdays(user=manager, days=3, today=dt.date(2027, 2, 27))
    assert [(r.name, r.next_birthday) for r in rows] == [("闰日会员", dt.date(2027, 3, 1))]


def test_birthday_list_respects_scope(users):
    make_customer(
        actor=users["big_customer_specialist"],
        name="大客户会员",
        kind="person",
        birthday=timezone.localdate() - dt.timedelta(days=365 * 30),
    )
    assert selectors.upcoming_birthdays(user=users["agent"], days=366) == []


def test_history_includes_removed_contacts(users):
    customer = make_customer(actor=users["manager"])
    contact = make_contact(actor=users["manager"], customer=customer, name="将删除")
    services.contact_delete(actor=users["manager"], contact=contact)
    entries = selectors.customer_history(customer=customer)
    assert any(e.object_repr == "将删除" and e.action == 2 for e in entries)


def test_fragments_made_of_common_pieces_or_one_character_still_match(users, archive):
    assert "北京张三丰科技有限公司" in search(users["manager"], "有限公司")
    assert search(users["manager"], "丰") == {"北京张三丰科技有限公司"}
    assert search(users["manager"], "三丰科技") == {"北京张三丰科技有限公司"}


def test_renaming_a_customer_updates_the_fragment_index(users, archive):
    customer = Customer.objects.get(name="李四商贸")
    services.customer_update(
        actor=users["manager"], customer=customer, data={"name": "李四物流", "short_name": "四流"}
    )
    assert search(users["manager"], "商贸") == set()
    assert search(users["manager"], "物流") == {"李四物流"}
    assert search(users["manager"], "四流") == {"李四物流"}


@pytest.fixture(params=["narrow", "broad", "narrowed by a second piece"])
def breadth(request, monkeypatch):
    """Run a search test three ways: as a rare term, as one frequent enough to take the paths
    meant for a million customers (a limit of one makes every term 'frequent'), and with the
    rarest piece's names always narrowed by the next rarest piece (NARROW_FROM)."""
    if request.param == "broad":
        monkeypatch.setattr(selectors, "FREQUENT_GRAM", 1)
        monkeypatch.setattr(selectors, "BROAD_PINYIN", 1)
    if request.param == "narrowed by a second piece":
        monkeypatch.setattr(selectors, "RARE_GRAM", 1)
        monkeypatch.setattr(selectors, "NARROW_FROM", 1)
    return request.param


@pytest.fixture
def two_departments(users, departments):
    """Customers of the agent's department, of another department, and one of the agent's own
    customers filed under another department."""
    agent, manager = users["agent"], users["manager"]
    elsewhere = departments["complaints"]
    make_customer(actor=agent, name="长城润滑油商贸")
    make_customer(
        actor=manager, name="长城纸业商贸", owner=users["complaint_specialist"], department=elsewhere
    )
    mine_elsewhere = make_customer(actor=manager, name="长城机械商贸", owner=agent, department=elsewhere)
    assert mine_elsewhere.department_id != agent.department_id
    return agent


@pytest.mark.parametrize("query", ["cc", "changcheng", "长城", "城机械", "商贸"])
def test_agent_search_finds_own_department_and_own_customers_only(two_departments, breadth, query):
    expected = {"长城润滑油商贸", "长城机械商贸"}
    if query == "城机械":
        expected = {"长城机械商贸"}
    assert search(two_departments, query) == expected


@pytest.mark.parametrize("query", ["cc", "长城", "城纸业"])
def test_manager_search_finds_every_department(users, two_departments, breadth, query):
    found = search(users["manager"], query)
    assert "长城纸业商贸" in found
    if query != "城纸业":
        assert found == {"长城润滑油商贸", "长城纸业商贸", "长城机械商贸"}


def test_frequent_fragments_and_initials_still_find_contacts_and_names(users, archive, breadth):
    manager = users["manager"]
    assert search(manager, "三丰科") == {"北京张三丰科技有限公司"}
    assert search(manager, "zs") >= {"张三"}
    assert search(manager, "赵敏") == {"王五实业"}
    if breadth == "narrow":
        # Contacts' initials are searched unless the initials are broad (see search_q).
        assert "王五实业" in search(manager, "zm")


def test_the_list_count_is_the_same_however_the_database_orders_it(users, client_as, settings):
    settings.LIST_COUNT_CAP = 3
    for i in range(5):
        make_customer(actor=users["manager"], name=f"计数客户{i}")
    response = client_as(users["manager"]).get("/customers/", {"q": "计数"})
    page = response.context["page_obj"]
    assert page.paginator.count == 3 and page.paginator.capped


def gram_scopes(customer):
    """The (department, owner) pairs the customer's name pieces carry: one pair, its own."""
    return set(CustomerNameGram.objects.filter(customer=customer).values_list("department_id", "owner_id"))


def test_name_pieces_carry_the_customers_department_and_owner(two_departments, users, departments, make_user):
    agent, manager = two_departments, users["manager"]
    customer = Customer.objects.get(name="长城润滑油商贸")
    assert gram_scopes(customer) == {(agent.department_id, agent.pk)}
    other = users["complaint_specialist"]
    services.customer_update(actor=manager, customer=customer, data={"owner": other})
    assert gram_scopes(customer) == {(agent.department_id, other.pk)}
    services.customer_update(
        actor=manager,
        customer=customer,
        data={"name": "长城润滑油物流", "department": departments["complaints"]},
    )
    assert gram_scopes(customer) == {(departments["complaints"].pk, other.pk)}
    leaving = make_user("agent")
    services.customers_assign(actor=manager, customer_ids=[customer.pk], owner=leaving, department=None)
    assert gram_scopes(customer) == {(departments["complaints"].pk, leaving.pk)}
    leaving.delete()
    assert gram_scopes(customer) == {(departments["complaints"].pk, None)}


@pytest.mark.parametrize("query", ["长城", "城机械", "机械商"])
def test_agent_search_follows_a_customer_handed_to_another_department(
    two_departments, users, departments, breadth, query
):
    agent, manager = two_departments, users["manager"]
    moved = Customer.objects.get(name="长城机械商贸")
    assert "长城机械商贸" in search(agent, query)
    colleague = users["complaint_specialist"]
    services.customers_assign(actor=manager, customer_ids=[moved.pk], owner=colleague, department=None)
    assert "长城机械商贸" not in search(agent, query)
    services.customers_assign(
        actor=manager, customer_ids=[moved.pk], owner=None, department=departments["centre"]
    )
    assert "长城机械商贸" in search(agent, query)
    assert "长城纸业商贸" not in search(agent, query)


def test_fragment_with_latin_letters_ignores_case_and_chinese_fragment_matches_as_typed(users):
    manager = users["manager"]
    make_customer(actor=manager, name="杭州ABC精工机械有限公司")
    make_customer(actor=manager, name="杭州abc精密机械有限公司")
    assert search(manager, "abc精") == {"杭州ABC精工机械有限公司", "杭州abc精密机械有限公司"}
    assert search(manager, "Bc精工") == {"杭州ABC精工机械有限公司"}
    assert search(manager, "精工机") == {"杭州ABC精工机械有限公司"}


@pytest.mark.parametrize("query", ["股份有", "有限公", "限公"])
def test_fragment_of_common_pieces_finds_only_what_the_agent_may_see(users, departments, breadth, query):
    agent, manager = users["agent"], users["manager"]
    make_customer(actor=agent, name="长城润滑油股份有限公司")
    make_customer(
        actor=manager, name="长城机械股份有限公司", owner=agent, department=departments["complaints"]
    )
    make_customer(
        actor=manager,
        name="长城纸业股份有限公司",
        owner=users["complaint_specialist"],
        department=departments["complaints"],
    )
    assert search(agent, query) == {"长城润滑油股份有限公司", "长城机械股份有限公司"}
    assert len(search(manager, query)) == 3


@pytest.fixture
def liuzhou(users):
    manager = users["manager"]
    for name in ("柳州润达化工有限公司", "柳州市润泽包装", "广州润发贸易", "州润柳州物流", "柳州润丰食品"):
        make_customer(actor=manager, name=name)
    return manager


def test_a_fragment_whose_rarest_piece_is_in_many_names_reads_only_those_holding_the_next_piece_too(
    liuzhou, monkeypatch
):
    monkeypatch.setattr(selectors, "NARROW_FROM", 1)
    candidates, exact = selectors._name_fragment_candidates("柳州润", None)
    assert not exact
    ids = set().union(*(set(part) for part in candidates))
    # 州润 (and 柳州 too): not 广州润发 (no 柳州) nor 柳州市润泽 (no 州润).
    assert names(Customer.objects.filter(pk__in=ids)) == {
        "柳州润达化工有限公司",
        "州润柳州物流",
        "柳州润丰食品",
    }
    # Holding both pieces apart is not holding the fragment: the name check still decides.
    assert search(liuzhou, "柳州润") == {"柳州润达化工有限公司", "柳州润丰食品"}


def _pieces_read(candidates):
    """How many name pieces each candidate id list reads (2 when narrowed by a second piece)."""
    return [str(part.query).count('"gram" =') for part in candidates]


def test_a_piece_in_too_many_names_or_a_common_one_does_not_narrow(liuzhou, monkeypatch):
    monkeypatch.setattr(selectors, "NARROW_FROM", 1)
    narrowed, _exact = selectors._name_fragment_candidates("柳州润", None)
    assert _pieces_read(narrowed) == [2]

    monkeypatch.setattr(selectors, "NARROW_WITH_AT_MOST", {})
    monkeypatch.setattr(selectors, "NARROW_WITH_AT_MOST_ELSEWHERE", 4)  # 柳州 and 州润: 4 names each
    candidates, _exact = selectors._name_fragment_candidates("柳州润", None)
    assert _pieces_read(candidates) == [1]
    assert len(set().union(*(set(part) for part in candidates))) == 4  # one piece's names
    assert search(liuzhou, "柳州润") == {"柳州润达化工有限公司", "柳州润丰食品"}

    make_customer(actor=liuzhou, name="柳州润达股份有限公司")
    common, _exact = selectors._name_fragment_candidates("股份有限", None)  # 股份, 份有, 有限: all common
    assert _pieces_read(common) == [1]
    assert search(liuzhou, "股份有限") == {"柳州润达股份有限公司"}
