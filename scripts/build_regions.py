"""Build accounts/data/regions.csv (provinces + prefecture-level divisions of China).

Run once, review the diff, commit the CSV:

    .venv/bin/python scripts/build_regions.py

Source: the adcodes.csv shipped in the `cpca` package (pip install -e '.[regions]').
cpca is only needed here, never at runtime; the app reads the committed CSV.
"""

import csv
import importlib.resources
import re
from pathlib import Path

from pypinyin import lazy_pinyin

OUT = Path(__file__).resolve().parent.parent / "accounts" / "data" / "regions.csv"

# Hand-written: the conventional English names differ from plain pinyin
# (Inner Mongolia, Tibet, Shaanxi vs Shanxi, Hong Kong, Macau).
PROVINCES = {
    "110000": ("北京市", "Beijing"),
    "120000": ("天津市", "Tianjin"),
    "130000": ("河北省", "Hebei"),
    "140000": ("山西省", "Shanxi"),
    "150000": ("内蒙古自治区", "Inner Mongolia"),
    "210000": ("辽宁省", "Liaoning"),
    "220000": ("吉林省", "Jilin"),
    "230000": ("黑龙江省", "Heilongjiang"),
    "310000": ("上海市", "Shanghai"),
    "320000": ("江苏省", "Jiangsu"),
    "330000": ("浙江省", "Zhejiang"),
    "340000": ("安徽省", "Anhui"),
    "350000": ("福建省", "Fujian"),
    "360000": ("江西省", "Jiangxi"),
    "370000": ("山东省", "Shandong"),
    "410000": ("河南省", "Henan"),
    "420000": ("湖北省", "Hubei"),
    "430000": ("湖南省", "Hunan"),
    "440000": ("广东省", "Guangdong"),
    "450000": ("广西壮族自治区", "Guangxi"),
    "460000": ("海南省", "Hainan"),
    "500000": ("重庆市", "Chongqing"),
    "510000": ("四川省", "Sichuan"),
    "520000": ("贵州省", "Guizhou"),
    "530000": ("云南省", "Yunnan"),
    "540000": ("西藏自治区", "Tibet"),
    "610000": ("陕西省", "Shaanxi"),
    "620000": ("甘肃省", "Gansu"),
    "630000": ("青海省", "Qinghai"),
    "640000": ("宁夏回族自治区", "Ningxia"),
    "650000": ("新疆维吾尔自治区", "Xinjiang"),
    "710000": ("台湾省", "Taiwan"),
    "810000": ("香港特别行政区", "Hong Kong"),
    "820000": ("澳门特别行政区", "Macau"),
}

# Chinese suffix -> English suffix. Order matters: 自治州/自治县 before 县.
SUFFIXES = {
    "自治州": "Autonomous Prefecture",
    "自治县": "Autonomous County",
    "地区": "Prefecture",
    "林区": "Forestry District",
    "盟": "League",
    "县": "County",
    "市": "",
}

# Compact tables read better than one entry per line.
# fmt: off
# Ethnic groups named in autonomous prefectures/counties ("X Tujia and Miao Autonomous ...").
ETHNIC = {
    "朝鲜族": "Korean", "土家族": "Tujia", "苗族": "Miao", "藏族": "Tibetan", "羌族": "Qiang",
    "彝族": "Yi", "布依族": "Bouyei", "侗族": "Dong", "哈尼族": "Hani", "壮族": "Zhuang",
    "傣族": "Dai", "白族": "Bai", "景颇族": "Jingpo", "傈僳族": "Lisu", "回族": "Hui",
    "蒙古族": "Mongol", "蒙古": "Mongol", "柯尔克孜": "Kirgiz", "哈萨克": "Kazakh", "黎族": "Li",
}

# Base name (suffix stripped) -> English. pypinyin picks the wrong reading for a few
# heteronyms, and some names have established non-pinyin forms (mostly Mongolian,
# Tibetan and Uyghur place names).
OVERRIDES = {
    "长治": "Changzhi", "朝阳": "Chaoyang", "漯河": "Luohe", "吕梁": "Lüliang",
    "哈尔滨": "Harbin", "齐齐哈尔": "Qiqihar", "呼和浩特": "Hohhot", "鄂尔多斯": "Ordos",
    "呼伦贝尔": "Hulunbuir", "巴彦淖尔": "Bayannur", "乌兰察布": "Ulanqab", "兴安": "Hinggan",
    "锡林郭勒": "Xilingol", "阿拉善": "Alxa", "大兴安岭": "Da Hinggan Ling",
    "拉萨": "Lhasa", "日喀则": "Shigatse", "昌都": "Qamdo", "林芝": "Nyingchi",
    "那曲": "Nagqu", "阿里": "Ngari", "乌鲁木齐": "Urumqi", "克拉玛依": "Karamay",
    "吐鲁番": "Turpan", "博尔塔拉": "Bortala", "巴音郭楞": "Bayingolin", "阿克苏": "Aksu",
    "克孜勒苏": "Kizilsu", "喀什": "Kashgar", "和田": "Hotan", "伊犁": "Ili",
    "阿勒泰": "Altay", "阿拉尔": "Aral", "图木舒克": "Tumxuk",
}
# fmt: on

# Statistical grouping rows, not places (e.g. 110100 市辖区, 429000 省直辖县级行政区划).
PLACEHOLDER = re.compile(r"^(市辖区|县|.*直辖县级行政区划)$")


def romanize(base: str) -> str:
    """Pinyin as one word, with an apostrophe before a/o/e syllables (Xi'an, Lu'an)."""
    if base in OVERRIDES:
        return OVERRIDES[base]
    syllables = lazy_pinyin(base)
    word = syllables[0] + "".join(("'" if s[0] in "aoe" else "") + s for s in syllables[1:])
    return word.capitalize()


def english_name(name_zh: str) -> str:
    base, suffix = name_zh, ""
    for zh, en in SUFFIXES.items():
        if name_zh.endswith(zh) and len(name_zh) > len(zh):
            base, suffix = name_zh[: -len(zh)], en
            break
    peoples = []  # autonomous units name their peoples: 恩施|土家族|苗族|自治州
    while suffix.startswith("Autonomous") and (
        ethnic := next((zh for zh in ETHNIC if base.endswith(zh) and base != zh), None)
    ):
        peoples.insert(0, ETHNIC[ethnic])
        base = base[: -len(ethnic)]
    parts = [romanize(base), " and ".join(peoples), suffix]
    return " ".join(p for p in parts if p)


def main() -> None:
    source = importlib.resources.files("cpca") / "resources" / "adcodes.csv"
    with source.open(encoding="utf-8") as f:
        names = {row["adcode"][:6]: row["name"] for row in csv.DictReader(f)}

    rows = [(code, "", "province", zh, en) for code, (zh, en) in PROVINCES.items()]
    for code, zh in names.items():
        if code.endswith("0000") or PLACEHOLDER.match(zh):
            continue
        # Prefecture level (xxyy00), or county level under a province directly (xx90yy).
        if code.endswith("00") or code[2:4] == "90":
            rows.append((code, code[:2] + "0000", "city", zh, english_name(zh)))

    # Loud warning if cpca spells a province differently from our hand-written list.
    for code, (zh, _) in PROVINCES.items():
        if names.get(code, zh) != zh:
            print(f"warning: {code} is {names[code]!r} in cpca, {zh!r} here")

    rows.sort()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "parent_code", "level", "name_zh", "name_en"])
        writer.writerows(rows)

    levels = [r[2] for r in rows]
    print(f"wrote {OUT}: {levels.count('province')} provinces, {levels.count('city')} cities")


if __name__ == "__main__":
    main()
