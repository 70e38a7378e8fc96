"""Demo data of the accounts app: the group, its depots, buyer companies, one user per role.

Idempotent: everything is keyed on a natural key and only created when missing, so a
second `seed_demo` changes nothing. Other apps add their own `demo.py` with `seed()`.
"""

from decimal import Decimal

from django.utils import timezone
from stdnum.cn import uscc as stdnum_uscc

from . import services
from .models import Company, Depot, Membership, Organization, Role, User, WorkingCalendar

DEMO_PASSWORD = "chemmall-demo-2026"

HQ = ("hq", "华夏化工集团有限公司", "Huaxia Chemical Group", "110000")
SUBSIDIARIES = [
    ("js-fine", "华夏化工江苏精细化学品有限公司", "Huaxia Jiangsu Fine Chemicals", "320500"),
    ("sd-petro", "华夏化工山东石化有限公司", "Huaxia Shandong Petrochemicals", "370300"),
    ("zj-materials", "华夏化工浙江新材料有限公司", "Huaxia Zhejiang New Materials", "330200"),
    ("gd-daily", "华夏化工广东日用化学品有限公司", "Huaxia Guangdong Daily Chemicals", "440100"),
    ("sc-reagents", "华夏化工四川化学试剂有限公司", "Huaxia Sichuan Reagents", "510100"),
    ("hb-agro", "华夏化工湖北农化有限公司", "Huaxia Hubei Agrochemicals", "420100"),
    ("tj-testing", "华夏化工天津检测研究院", "Huaxia Tianjin Testing Institute", "120000"),
]
DEPOTS = [
    ("SZ-01", "js-fine", "苏州工业园区仓库", "Suzhou Industrial Park depot", "320500",
     "苏州工业园区星港街 88 号"),
    ("NT-01", "js-fine", "南通化工园区仓库", "Nantong chemical park depot", "320600",
     "南通市经济技术开发区通达路 16 号"),
    ("ZB-01", "sd-petro", "淄博齐鲁油库", "Zibo Qilu tank farm", "370300",
     "淄博市临淄区炼厂路 1 号"),
    ("QD-01", "sd-petro", "青岛港区仓库", "Qingdao port depot", "370200",
     "青岛市黄岛区港区路 9 号"),
    ("NB-01", "zj-materials", "宁波镇海仓库", "Ningbo Zhenhai depot", "330200",
     "宁波市镇海区澥浦镇化工路 5 号"),
    ("GZ-01", "gd-daily", "广州黄埔仓库", "Guangzhou Huangpu depot", "440100",
     "广州市黄埔区石化路 20 号"),
    ("CD-01", "sc-reagents", "成都新都仓库", "Chengdu Xindu depot", "510100",
     "成都市新都区工业大道 8 号"),
    ("WH-01", "hb-agro", "武汉青山仓库", "Wuhan Qingshan depot", "420100",
     "武汉市青山区化工大道 3 号"),
]
# (uscc body of 17 characters, name, province, city, credit limit, terms)
COMPANIES = [
    ("91320583MA1MXY7R", "昆山华研电子材料有限公司", "320000", "320500", "500000", 30),
    ("91310115MA1K4A8C", "上海浦江涂料有限公司", "310000", None, "300000", 30),
    ("91440300MA5F7DE3", "深圳鹏城日化科技有限公司", "440000", "440300", "0", 0),
    ("91510100MA6C8GHJ", "成都蜀光制药有限公司", "510000", "510100", "800000", 45),
    ("91370200MA3KLMN2", "青岛海岸水处理工程有限公司", "370000", "370200", "200000", 30),
]
# (email, full name, organisation code or None, roles, company index or None, company admin)
USERS = [
    ("hq.manager@chemmall.example", "王建国", "hq", [Role.HQ_MANAGER], None, False),
    ("hq.finance@chemmall.example", "赵敏", "hq", [Role.FINANCE], None, False),
    ("manager@js-fine.example", "李卫东", "js-fine", [Role.SUBSIDIARY_MANAGER], None, False),
    ("cco@js-fine.example", "陈晓燕", "js-fine", [Role.CCO], None, False),
    ("cco2@js-fine.example", "周磊", "js-fine", [Role.CCO], None, False),
    ("finance@js-fine.example", "孙丽", "js-fine", [Role.FINANCE], None, False),
    ("cco@sd-petro.example", "刘洋", "sd-petro", [Role.CCO], None, False),
    ("depot@js-fine.example", "吴强", "js-fine", [Role.DEPOT_OPERATOR], None, False),
    ("buyer@kshy.example", "张伟", None, [Role.BUYER], 0, True),
    ("buyer2@kshy.example", "黄静", None, [Role.BUYER], 0, False),
    ("buyer@pjtl.example", "徐明", None, [Role.BUYER], 1, True),
    ("dealer@suxin.example", "郑海", None, [Role.DEALER], None, False),
]


def _full_uscc(body: str) -> str:
    body = body[:17].ljust(17, "0")
    return body + stdnum_uscc.calc_check_digit(body)


def seed(stdout=None) -> None:
    calendar, _created = WorkingCalendar.objects.get_or_create(
        name="中国大陆标准工作日 / China standard"
    )
    year = timezone.localdate().year
    services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[year, year + 1])

    code, name_zh, name_en, region = HQ
    hq, _created = Organization.objects.get_or_create(
        code=code,
        defaults={"name_zh": name_zh, "name_en": name_en, "kind": Organization.Kind.HQ,
                  "region_id": region, "calendar": calendar},
    )
    orgs = {"hq": hq}
    for code, name_zh, name_en, region in SUBSIDIARIES:
        orgs[code], _created = Organization.objects.get_or_create(
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "parent": hq,
                      "region_id": region, "calendar": calendar},
        )
    for code, org, name_zh, name_en, region, address in DEPOTS:
        Depot.objects.get_or_create(
            code=code,
            defaults={"organization": orgs[org], "name_zh": name_zh, "name_en": name_en,
                      "region_id": region, "address": address},
        )
    companies = []
    for body, name, province, city, limit, terms in COMPANIES:
        company, created = Company.objects.get_or_create(
            uscc=_full_uscc(body),
            defaults={"name": name, "province_id": province, "city_id": city,
                      "credit_limit": Decimal(limit), "payment_terms_days": terms},
        )
        if created:  # the demo customers deal with the Jiangsu and Shandong subsidiaries
            company.served_by.add(orgs["js-fine"], orgs["sd-petro"])
        companies.append(company)

    if not User.objects.filter(email="admin@chemmall.example").exists():
        User.objects.create_superuser("admin@chemmall.example", DEMO_PASSWORD,
                                      full_name="ChemMall Admin")
    for email, full_name, org, roles, company_index, is_admin in USERS:
        if User.objects.filter(email=email).exists():
            continue
        user = services.user_create(
            email=email, full_name=full_name, password=DEMO_PASSWORD,
            organization=orgs.get(org) if org else None, roles=roles,
        )
        if company_index is not None:
            Membership.objects.create(user=user, company=companies[company_index],
                                      is_admin=is_admin)
        if Role.DEPOT_OPERATOR in roles:
            Depot.objects.get(code="SZ-01").operators.add(user)


def logins() -> list[tuple[str, str]]:
    """(role, email) of every demo login, for `make run` and the README."""
    rows = [("superuser", "admin@chemmall.example")]
    rows += [(", ".join(str(r.label) for r in roles), email)
             for email, _name, _org, roles, _c, _a in USERS]
    return rows
