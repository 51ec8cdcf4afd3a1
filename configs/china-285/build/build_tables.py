#!/usr/bin/env python3
"""Deterministic derivation of configs/china-285/{provinces,cities,links}.csv.

Usage (from the repository root or anywhere):
    python3 configs/china-285/build/build_tables.py [REFERENCE_DIR]
REFERENCE_DIR defaults to the folder reference/ beside this script (copies of the published reference facts, with their
sources in reference/README.md). Standard library only. Reads the reference CSVs and the hand-entered tables beside this
script (province_meta.csv, links_flows.csv, city_proxies.csv, link_sources.csv, city_sources.csv) and writes the three
tables one folder up. Every number written is a documented function of those inputs (see ../README.md).
Model v2: links and cities with a known generation mix get their own intensity (link_intensity, city_gen_intensity);
each province's residual gen_intensity is then solved so that its consumption-side intensity at central values
equals the published MEE 2022 factor (README section 5).
"""
import csv
import io
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)
REF_DEFAULT = os.path.join(HERE, "reference")

# ---------------------------------------------------------------- constants (all documented in README)
NATIONAL_CONSUMPTION_2022_TWH = 8637.2      # NEA (Jan 2023): 2022 whole-society consumption 86,372 x 100 GWh
NATIONAL_BEV_STOCK_END2022 = 10_450_000     # Ministry of Public Security, Jan 2023: 13.10 M NEV, 10.45 M BEV
TIBET_INTENSITY = 40.0                      # g/kWh, estimate (no published factor), sd = 40
TIBET_SD = 40.0
FACTOR_REL_ERR = 0.05                       # relative uncertainty of a published (single-source) MEE provincial factor
OWN_REL_ERR = 0.03
MAX_INTENSITY_CV = 0.5
EV_KWH_BASE = 14.5                          # kWh/100 km into the battery, mild climate, fleet average (README)
TIER1 = ["北京", "上海", "广州市", "深圳市"]
# Yicai New First-tier Cities Institute, 2023 City Business Attractiveness Ranking (published 2023-05-30)
NEW_TIER1_2023 = ["成都市", "重庆", "杭州市", "武汉市", "苏州市", "西安市", "南京市", "长沙市",
                  "天津", "郑州市", "东莞市", "青岛市", "昆明市", "宁波市", "合肥市"]
SUB_PROVINCIAL_PLANNED = ["大连市", "青岛市", "宁波市", "厦门市", "深圳市"]  # ji hua dan lie shi
# Units that became prefecture-level cities after 2010 (excluded: not in the 285-city panel)
POST2010 = {"5205": ("毕节市", 2011), "5206": ("铜仁市", 2011), "4603": ("三沙市", 2012),
            "6302": ("海东市", 2013), "5402": ("日喀则市", 2014), "5403": ("昌都市", 2014),
            "5404": ("林芝市", 2015), "4604": ("儋州市", 2015), "6504": ("吐鲁番市", 2015),
            "5405": ("山南市", 2016), "6505": ("哈密市", 2016), "5406": ("那曲市", 2017)}
GB_PROV = {"11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "InnerMongolia",
           "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
           "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
           "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
           "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
           "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
           "65": "Xinjiang"}
MUNICIPALITY_ZH = {"11": "北京", "12": "天津", "31": "上海", "50": "重庆"}
# electricity-use per capita by tier (consumption allocation) and BEV density by tier (BEV allocation)
CONS_K = {"tier1": 1.1, "new_tier1": 1.05, "tier2": 1.0, "tier3": 1.0, "tier4": 1.0, "tier5": 0.95}
EXCL_CONS_K = 0.9
BEV_W = {"tier1": 4.0, "new_tier1": 3.0, "tier2": 1.4, "tier3": 1.0, "tier4": 0.8, "tier5": 0.6}
EXCL_BEV_W = 0.5
PROV_BEV_ADJ = {"Hainan": 1.8}
VKT = {"tier1": 17000, "new_tier1": 15000, "tier2": 13500, "tier3": 12000, "tier4": 12000, "tier5": 12000}
GENERIC_GEN_RATIO_MAX = 2.0
GENERIC_GEN_RATIO_MIN = 0.05
GENERIC_GEN_RATIO_MAX_IMPORTER = 0.9   # a generic city of a net-importing province is not self-sufficient
NAMED_SCALE_MIN, NAMED_SCALE_MAX = 0.67, 1.5
POOL_MARGIN = 0.04   # O_p >= 4 % of C_p at central values (non-municipal provinces)
POOL_SCALE_FLOOR = 0.3
# loss model: central loss = a + b * length/1000 km, by technology (engineering values, README section links)
LOSS_AB = {"UHVDC": (0.015, 0.020), "HVDC": (0.015, 0.030), "UHVAC": (0.005, 0.025), "AC": (0.010, 0.045)}
LOSS_LO, LOSS_HI = 0.6, 1.6
LINK_CV = {"A": 0.10, "B": 0.20, "C": 0.35}
# corridor utilisation check (both directions together, energy sent / capacity): above the warning level the build prints a
# warning, above 8,760 h (a year at full capacity) it refuses
UTIL_WARN_H, UTIL_MAX_H = 7000.0, 8760.0
# ------------------------------------------------------------ model v2: source intensities (README section 12)
# Direct CO2 per kWh sent out by coal units, by class. Basis: national average net coal consumption 305.5 gce/kWh (2020, NDRC)
# x 2.66-2.77 kgCO2/kgce = 0.81-0.85 kg/kWh (reference README) -> COAL_AVG 830; air-cooled mine-mouth units in the north
# burn ~15 gce/kWh more (NDRC: new water-cooled units above 285, air-cooled above 300 gce/kWh are prohibited) -> 880;
# lignite adds ~7 % CO2 per unit of energy (IPCC 2006 defaults: lignite 101.0, bituminous 94.6 tCO2/TJ) -> 940, and 900 for
# a mix of lignite and bituminous bases; large water-cooled supercritical/ultra-supercritical fleets (~290 gce/kWh) -> 800
# (new ultra-supercritical units < 270 gce/kWh, i.e. ~0.73-0.75 kg/kWh). Relative sd of every class 6 %.
COAL_G = {"COAL_AVG": 830.0, "COAL_AIR": 880.0, "COAL_LIGNITE_MIX": 900.0, "COAL_LIGNITE": 940.0, "COAL_LARGE": 800.0}
COAL_REL_SD = 0.06
GAS_G, GAS_REL_SD = 390.0, 0.10             # gas-fired plants (CCGT and CHP), estimate
# plausibility band of a residual provincial intensity (clamped outside) and the fossil-only national factor 2022 (reference
# file): a residual above it is flagged (possible only for a coal-only, below-average fleet)
BAND_LO, BAND_HI = 30.0, 1000.0


def read_commented_csv(path):
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines))))


def canon(name):
    return {"Innermongolia": "InnerMongolia"}.get(name, name)


def r(x, nd):
    return f"{round(x, nd):.{nd}f}"


def main():
    ref = sys.argv[1] if len(sys.argv) > 1 else REF_DEFAULT
    P = lambda name: os.path.join(ref, name)

    # ------------------------------------------------------------ reference facts
    factors, factors_nat = {}, {}
    for row in read_commented_csv(P("grid_emission_factors_kgco2_per_kwh.csv")):
        if row["level"] == "province":
            factors[canon(row["name"])] = (float(row["y2021"]), float(row["y2022"]))
        elif row["level"] == "national":
            factors_nat[row["name"]] = (float(row["y2021"]), float(row["y2022"]))
    pop_prov = {canon(r_["region"]): float(r_["2020"]) for r_ in read_commented_csv(P("province_population_10k.csv"))}
    cars_prov = {canon(r_["region"]): float(r_["2022"]) for r_ in read_commented_csv(P("province_private_cars_10k.csv"))}
    cons2020 = {canon(r_["province"]): float(r_["consumption_2020_twh"])
                for r_ in read_commented_csv(P("province_electricity_consumption_2020_twh.csv"))}
    corridors = {}
    for row in read_commented_csv(P("inter_provincial_links_capacity_mw.csv")):
        corridors[frozenset((canon(row["a"]), canon(row["b"])))] = float(row["capacity_mw"])
    units = read_commented_csv(P("prefecture_units_gb2260.csv"))

    meta = read_commented_csv(os.path.join(HERE, "province_meta.csv"))
    flows = read_commented_csv(os.path.join(HERE, "links_flows.csv"))
    proxies = {row["code"]: row for row in read_commented_csv(os.path.join(HERE, "city_proxies.csv"))}

    provs = [m["province"] for m in meta]
    assert len(provs) == 31 and set(provs) == set(GB_PROV.values())
    for p in provs:
        assert p in pop_prov and p in cars_prov and p in cons2020, p

    # ------------------------------------------------------------ provinces: consumption
    raw = {m["province"]: float(m["consumption_2022_twh_raw"]) for m in meta}
    scale = NATIONAL_CONSUMPTION_2022_TWH / sum(raw.values())
    C = {p: raw[p] * scale for p in provs}

    # ------------------------------------------------------------ links
    links = []
    for f in flows:
        a, b = f["from"], f["to"]
        key = frozenset((a, b))
        if key not in corridors:
            raise SystemExit(f"link {a}->{b} is not a corridor of the reference capacity table")
        L = float(f["length_km"])
        A, B = LOSS_AB[f["technology"]]
        mode = A + B * L / 1000.0
        F = float(f["delivered_twh"])
        line_cap = float(f["capacity_mw"]) if f["capacity_mw"] else corridors[key]
        cap_src = f"estimate: {f['capacity_note']}" if f["capacity_mw"] else "reference corridor capacity"
        links.append(dict(frm=a, to=b, F=F, mode=mode, tech=f["technology"], L=L, q=f["quality"],
                          lines=f["lines"], cap=corridors[key], line_cap=line_cap, cap_src=cap_src,
                          util=F / (line_cap * 8760 / 1e6)))
    # corridor utilisation, both directions together (energy sent / the capacity behind utilisation_hours)
    util_report = []
    for key in sorted({frozenset((l["frm"], l["to"])) for l in links}, key=sorted):
        ls = [l for l in links if frozenset((l["frm"], l["to"])) == key]
        cap = max(l["line_cap"] for l in ls)
        hours = sum(l["F"] / (1 - l["mode"]) for l in ls) * 1e6 / cap
        if hours > UTIL_MAX_H:
            raise SystemExit(f"corridor {'-'.join(sorted(key))}: {hours:.0f} h/yr at {cap:.0f} MW exceeds a year at full capacity")
        if hours > UTIL_WARN_H:
            util_report.append(f"{'-'.join(sorted(key))} {hours:.0f} h")
    M = {p: 0.0 for p in provs}
    S = {p: 0.0 for p in provs}
    for l in links:
        M[l["to"]] += l["F"]
        S[l["frm"]] += l["F"] / (1 - l["mode"])
    GEN = {p: C[p] - M[p] + S[p] for p in provs}

    # ------------------------------------------------------------ city selection
    prov_zh = {m["province"]: m["province_zh"] for m in meta}
    kept, excluded = [], []
    for u in units:
        code, name, pc = u["code"], u["name"], u["province_code"]
        p = GB_PROV[pc]
        if name == "市辖区":
            kept.append((code, MUNICIPALITY_ZH[pc], p))
        elif name.endswith("自治州"):
            excluded.append((code, name, p, "autonomous prefecture (自治州)"))
        elif name.endswith("盟"):
            excluded.append((code, name, p, "league (盟)"))
        elif name.endswith("地区"):
            excluded.append((code, name, p, "region (地区)"))
        elif code in POST2010:
            excluded.append((code, name, p, f"prefecture-level city only since {POST2010[code][1]} (post-2010)"))
        elif name.endswith("市"):
            kept.append((code, name, p))
        else:
            raise SystemExit(f"unclassified unit {code} {name}")
    assert len(kept) == 285, len(kept)
    assert set(c for c, *_ in kept) == set(proxies), set(proxies) ^ set(c for c, *_ in kept)

    # ------------------------------------------------------------ tiers
    capitals = {"石家庄市", "太原市", "呼和浩特市", "沈阳市", "长春市", "哈尔滨市", "南京市", "杭州市", "合肥市",
                "福州市", "南昌市", "济南市", "郑州市", "武汉市", "长沙市", "广州市", "南宁市", "海口市",
                "成都市", "贵阳市", "昆明市", "拉萨市", "西安市", "兰州市", "西宁市", "银川市", "乌鲁木齐市"}
    cities = []
    for code, name, p in kept:
        px = proxies[code]
        pop = float(px["pop_2020_10k"])
        if name in TIER1:
            tier = "tier1"
        elif name in NEW_TIER1_2023:
            tier = "new_tier1"
        elif name in capitals or name in SUB_PROVINCIAL_PLANNED:
            tier = "tier2"
        elif pop >= 500:
            tier = "tier3"
        elif pop >= 300:
            tier = "tier4"
        else:
            tier = "tier5"
        cities.append(dict(code=code, zh=name, p=p, pinyin=px["city_pinyin"], pop=pop, tier=tier,
                           cons_adj=float(px["cons_adj"]), bev_adj=float(px["bev_adj"]),
                           gen_named=float(px["gen_named_twh"]) if px["gen_named_twh"] else None,
                           note=px["note"], muni=name in MUNICIPALITY_ZH.values()))
    assert sum(c["tier"] == "tier1" for c in cities) == 4
    assert sum(c["tier"] == "new_tier1" for c in cities) == 15

    # ------------------------------------------------------------ city consumption
    meta_by = {m["province"]: m for m in meta}
    rem_pop = {}
    for p in provs:
        cp = [c for c in cities if c["p"] == p]
        rem_pop[p] = max(pop_prov[p] - sum(c["pop"] for c in cp), 0.0)
        if all(c["muni"] for c in cp):
            rem_pop[p] = 0.0
        wsum = sum(c["pop"] * CONS_K[c["tier"]] * c["cons_adj"] for c in cp)
        wrem = rem_pop[p] * EXCL_CONS_K * float(meta_by[p]["excluded_cons_adj"])
        for c in cp:
            c["D"] = C[p] * c["pop"] * CONS_K[c["tier"]] * c["cons_adj"] / (wsum + wrem)

    # ------------------------------------------------------------ city generation
    gen_report = {}
    pool_cut = {}
    for p in provs:
        cp = [c for c in cities if c["p"] == p]
        if len(cp) == 1 and cp[0]["muni"]:
            cp[0]["G"] = GEN[p]
            cp[0]["gen_method"] = "balance"
            gen_report[p] = dict(named=0.0, generic_ratio=None, unassigned=0.0, named_scale=1.0)
            continue
        in_excl = GEN[p] * float(meta_by[p]["excluded_gen_share"])
        named = sum(c["gen_named"] for c in cp if c["gen_named"] is not None)
        R = GEN[p] - in_excl - named
        Du = sum(c["D"] for c in cp if c["gen_named"] is None)
        cap = GENERIC_GEN_RATIO_MAX if S[p] > M[p] else GENERIC_GEN_RATIO_MAX_IMPORTER
        ratio = R / Du if Du > 0 else 0.0
        ratio = min(max(ratio, GENERIC_GEN_RATIO_MIN), cap)
        leftover = R - ratio * Du
        # named estimates absorb what the generic rule leaves (x0.67 .. x1.5), the rest stays unassigned
        named_scale = 1.0
        if named > 0:
            named_scale = min(max((named + leftover) / named, NAMED_SCALE_MIN), NAMED_SCALE_MAX)
        for c in cp:
            if c["gen_named"] is not None:
                c["G"] = c["gen_named"] * named_scale
                c["gen_method"] = "named"
            else:
                c["G"] = ratio * c["D"]
                c["gen_method"] = "generic"
        # pool margin: local use must leave O_p >= POOL_MARGIN * C_p of own generation in the provincial pool
        # (model: O_p = C_p - M_p - sum L_c); scale down generic (then named) importer-city generation if needed.
        limit = C[p] - M[p] - POOL_MARGIN * C[p]
        local_use = lambda: sum(min(c["G"], c["D"]) for c in cp)
        for group in ("generic", "named"):
            if local_use() <= limit:
                break
            members = [c for c in cp if c["gen_method"] == group and (group == "generic" or c["G"] < c["D"])]
            base = {id(c): c["G"] for c in members}
            lo, hi = POOL_SCALE_FLOOR, 1.0
            for _ in range(60):
                mid = (lo + hi) / 2
                for c in members:
                    c["G"] = base[id(c)] * mid
                if local_use() > limit:
                    hi = mid
                else:
                    lo = mid
            for c in members:
                c["G"] = base[id(c)] * lo
            pool_cut[p] = pool_cut.get(p, []) + [f"{group} x{lo:.2f}"]
        assigned = sum(c["G"] for c in cp)
        gen_report[p] = dict(named=named * named_scale, generic_ratio=ratio, unassigned=GEN[p] - assigned,
                             in_excl=in_excl, named_scale=named_scale)


    # ------------------------------------------------------------ model v2: source intensities and residual calibration
    # Everything here is evaluated on the values as written to the tables (rounded), so that central_check.py reproduces
    # the published factors to rounding of the intensities only.
    Cw = {p: float(r(C[p], 2)) for p in provs}
    for l in links:
        l["Fw"], l["lw"] = float(r(l["F"], 2)), float(r(l["mode"], 4))
        l["sent"] = l["Fw"] / (1 - l["lw"])
    for c in cities:
        c["Dw"], c["Gw"] = float(r(c["D"], 3)), float(r(max(c["G"], 0.001), 3))
        c["Lw"] = min(c["Dw"], c["Gw"])
    Mw = {p: sum(l["Fw"] for l in links if l["to"] == p) for p in provs}
    sumLw = {p: sum(c["Lw"] for c in cities if c["p"] == p) for p in provs}
    Ow = {p: max(Cw[p] - Mw[p] - sumLw[p], 0.0) for p in provs}
    # city sources: J = coal share x coal class + gas share x 390
    by_code = {c["code"]: c for c in cities}
    for row in read_commented_csv(os.path.join(HERE, "city_sources.csv")):
        c = by_code[row["code"]]
        assert c["pinyin"] == row["city_pinyin"], (row["code"], c["pinyin"], row["city_pinyin"])
        assert c["gen_method"] == "named", f"{row['code']}: own intensity only for named-fleet cities"
        coal, gas, ssd, e = float(row["coal_share"]), float(row["gas_share"]), float(row["share_sd"]), COAL_G[row["coal_class"]]
        c["J"] = coal * e + gas * GAS_G
        c["J_sd"] = math.sqrt((ssd * e) ** 2 + (coal * COAL_REL_SD * e) ** 2 + (gas * GAS_REL_SD * GAS_G) ** 2)
        c["J_src"] = f"{row['status']}: coal {coal:.2f} x {e:.0f} + gas {gas:.2f} x {GAS_G:.0f} g/kWh; {row['source']}"
    # link sources: K = ded x fossil x class + (1 - ded) x I_sender (the mixed part is evaluated in the solve)
    link_by = {(l["frm"], l["to"]): l for l in links}
    for row in read_commented_csv(os.path.join(HERE, "link_sources.csv")):
        l = link_by[(row["from"], row["to"])]
        l["src"] = dict(ded=float(row["dedicated_share"]), ded_sd=float(row["dedicated_share_sd"]),
                        f=float(row["fossil_share"]), f_sd=float(row["fossil_share_sd"]), e=COAL_G[row["fossil_class"]],
                        status=row["status"], source=row["source"])
    def K_of(l, I):
        s_ = l.get("src")
        if s_ is None:
            return I[l["frm"]]
        return s_["ded"] * s_["f"] * s_["e"] + (1 - s_["ded"]) * I[l["frm"]]
    # residual provincial intensities: for every province with a published factor F_p,
    #   a_p I_p + sum_{c in p, own J} L_c J_c + sum_{l -> p} sent_l K_l = F_p (sum_c L_c + O_p + M_p),
    #   a_p = sum of L_c over cities without their own J + O_p (Gauss-Seidel; Tibet fixed)
    a = {p: sum(c["Lw"] for c in cities if c["p"] == p and "J" not in c) + Ow[p] for p in provs}
    tot = {p: sumLw[p] + Ow[p] + Mw[p] for p in provs}
    for p in provs:
        if p != "Tibet" and a[p] <= 0:
            raise SystemExit(f"{p}: no residual generation left to calibrate (every city has its own intensity and O_p = 0)")
    I = {p: factors.get(p, (0, TIBET_INTENSITY / 1000))[1] * 1000 for p in provs}
    I["Tibet"] = TIBET_INTENSITY
    for _ in range(1000):
        delta = 0.0
        for p in provs:
            if p == "Tibet":
                continue
            known = sum(c["Lw"] * c["J"] for c in cities if c["p"] == p and "J" in c)
            known += sum(l["sent"] * K_of(l, I) for l in links if l["to"] == p)
            new = (factors[p][1] * 1000 * tot[p] - known) / a[p]
            delta = max(delta, abs(new - I[p]))
            I[p] = new
        if delta < 1e-10:
            break
    else:
        raise SystemExit("residual calibration did not converge")
    I_raw = dict(I)
    for p in provs:
        I[p] = min(max(I[p], BAND_LO), BAND_HI)
    fossil_only = factors_nat["fossil_power_only"][1] * 1000
    flags = {p: ("below the band" if I_raw[p] < BAND_LO else "above the band" if I_raw[p] > BAND_HI
                 else f"above the national fossil-only factor {fossil_only:.1f}" if I_raw[p] > fossil_only else "")
             for p in provs}
    # sd of a residual: the factor's error amplified by the share of the province's energy the residual carries,
    # 3 % of its own, and the sds of the carved-out sources (which the residual absorbs); cap cv 0.5; Tibet 40.
    # Iterated because a mixed link's sd contains its sender's sd.
    I_sd = {p: 0.0 for p in provs}
    for _ in range(20):
        for l in links:
            s_ = l.get("src")
            if s_ is None:
                continue
            pure = s_["f"] * s_["e"]
            l["K_sd"] = math.sqrt((s_["ded"] * s_["f_sd"] * s_["e"]) ** 2 + (s_["ded"] * s_["f"] * COAL_REL_SD * s_["e"]) ** 2
                                  + ((1 - s_["ded"]) * I_sd[l["frm"]]) ** 2 + (s_["ded_sd"] * (pure - I[l["frm"]])) ** 2)
        for p in provs:
            if p == "Tibet":
                I_sd[p] = TIBET_SD
                continue
            carved = sum((c["Lw"] * c["J_sd"]) ** 2 for c in cities if c["p"] == p and "J" in c)
            carved += sum((l["sent"] * l["K_sd"]) ** 2 for l in links if l["to"] == p and "src" in l)
            sd = (FACTOR_REL_ERR * factors[p][1] * 1000 * tot[p] / a[p] + OWN_REL_ERR * I[p]
                  + math.sqrt(carved) / a[p])
            I_sd[p] = min(sd, MAX_INTENSITY_CV * I[p])
    for l in links:
        if "src" in l:
            s_ = l["src"]
            l["K"] = K_of(l, I)
            mix = (f"dedicated {s_['ded']:.2f} (sd {s_['ded_sd']:.2f}) x fossil {s_['f']:.2f} (sd {s_['f_sd']:.2f}) x "
                   f"{s_['e']:.0f} g/kWh" + (f" + {1 - s_['ded']:.2f} x {l['frm']} residual {I[l['frm']]:.1f}"
                                             if s_["ded"] < 1 else ""))
            l["K_src"] = f"{s_['status']}: {mix}; {s_['source']}"

    # ------------------------------------------------------------ BEV stock
    weights = []
    for c in cities:
        cars = cars_prov[c["p"]] * c["pop"] / pop_prov[c["p"]]
        weights.append(("city", c, cars * BEV_W[c["tier"]] * c["bev_adj"] * PROV_BEV_ADJ.get(c["p"], 1.0)
                        / (PROV_BEV_ADJ.get(c["p"], 1.0) if c["bev_adj"] != 1.0 else 1.0)))
    for p in provs:
        cars = cars_prov[p] * rem_pop[p] / pop_prov[p]
        weights.append(("rest", p, cars * EXCL_BEV_W * PROV_BEV_ADJ.get(p, 1.0)))
    W = sum(w for *_, w in weights)
    exact = [NATIONAL_BEV_STOCK_END2022 * w / W for *_, w in weights]
    floors = [math.floor(x) for x in exact]
    short = NATIONAL_BEV_STOCK_END2022 - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    bev_prov = {p: 0 for p in provs}
    bev_rest = {}
    for (kind, obj, _), n in zip(weights, floors):
        if kind == "city":
            obj["bev"] = n
            bev_prov[obj["p"]] += n
        else:
            bev_rest[obj] = n
            bev_prov[obj] += n
    assert sum(bev_prov.values()) == NATIONAL_BEV_STOCK_END2022

    # ------------------------------------------------------------ write provinces.csv
    with open(os.path.join(OUT, "provinces.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["province", "province_zh", "gb_code", "grid_region", "gen_intensity_g_per_kwh",
                    "gen_intensity_sd_g_per_kwh", "gen_intensity_method", "mee_factor_2022_g_per_kwh",
                    "mee_factor_2021_g_per_kwh", "consumption_twh", "consumption_cv", "consumption_2020_twh",
                    "imports_delivered_twh", "exports_sent_twh", "own_generation_twh", "bev_stock",
                    "bev_stock_outside_cities", "population_2020_10k", "private_cars_2022_10k"])
        for p in provs:
            m = meta_by[p]
            if p == "Tibet":
                method, f22, f21 = "estimate", "", ""
            elif I[p] != I_raw[p]:
                method, f22, f21 = "calibrated_clamped", factors[p][1] * 1000, factors[p][0] * 1000
            else:
                method, f22, f21 = "calibrated", factors[p][1] * 1000, factors[p][0] * 1000
            w.writerow([p, m["province_zh"], m["gb_code"], m["grid_region"], r(I[p], 1), r(I_sd[p], 1), method,
                        r(f22, 1) if f22 != "" else "", r(f21, 1) if f21 != "" else "",
                        r(C[p], 2), "0.04", r(cons2020[p], 2), r(M[p], 2), r(S[p], 2), r(GEN[p], 2),
                        bev_prov[p], bev_rest[p], r(pop_prov[p], 0), r(cars_prov[p], 2)])

    # ------------------------------------------------------------ write cities.csv
    with open(os.path.join(OUT, "cities.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["city_id", "city", "city_en", "province", "tier", "population_2020_10k",
                    "consumption_twh", "consumption_cv", "generation_twh", "generation_cv", "generation_method",
                    "bev_stock", "bev_stock_cv", "vkt_km", "ev_kwh_per_100km", "city_gen_intensity_g_per_kwh",
                    "city_gen_intensity_sd_g_per_kwh", "gen_intensity_source", "note"])
        for c in cities:
            cons_cv = 0.04 if c["muni"] else (0.35 if c["cons_adj"] != 1.0 else 0.25)
            gen_cv = {"balance": 0.08, "named": 0.25, "generic": 0.40}[c["gen_method"]]
            bev_cv = 0.30 if c["bev_adj"] != 1.0 else (0.15 if c["tier"] in ("tier1", "new_tier1") else 0.25)
            ev_kwh = EV_KWH_BASE * float(meta_by[c["p"]]["climate_ev"])
            w.writerow([c["code"], c["zh"], c["pinyin"], c["p"], c["tier"], r(c["pop"], 0),
                        r(c["D"], 3), r(cons_cv, 2), r(max(c["G"], 0.001), 3), r(gen_cv, 2), c["gen_method"],
                        max(c["bev"], 1), r(bev_cv, 2), VKT[c["tier"]], r(ev_kwh, 2),
                        r(c["J"], 1) if "J" in c else "", r(c["J_sd"], 1) if "J" in c else "", c.get("J_src", ""),
                        c["note"]])

    # ------------------------------------------------------------ write links.csv
    with open(os.path.join(OUT, "links.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["from", "to", "delivered_twh", "delivered_sd_twh", "quality", "loss_min", "loss_fraction",
                    "loss_max", "technology", "length_km", "corridor_capacity_mw", "line_capacity_mw", "capacity_source",
                    "utilisation_hours", "link_intensity_g_per_kwh", "link_intensity_sd_g_per_kwh", "link_intensity_source",
                    "corridor"])
        for l in links:
            w.writerow([l["frm"], l["to"], r(l["F"], 2), r(l["F"] * LINK_CV[l["q"]], 3), l["q"],
                        r(l["mode"] * LOSS_LO, 4), r(l["mode"], 4), r(l["mode"] * LOSS_HI, 4), l["tech"],
                        r(l["L"], 0), r(l["cap"], 0), r(l["line_cap"], 0), l["cap_src"], r(l["util"] * 8760, 0),
                        r(l["K"], 1) if "K" in l else "", r(l["K_sd"], 1) if "K" in l else "", l.get("K_src", ""),
                        l["lines"]])

    # ------------------------------------------------------------ report (stdout)
    print(f"consumption scale factor (national 2022 / sum of provincial raw): {scale:.4f}")
    print(f"cities kept: {len(kept)}; excluded: {len(excluded)}")
    from collections import Counter
    for k, v in Counter(e[3] for e in excluded).items():
        print(f"  excluded {v:3d}  {k}")
    print("province  C  M  S  GEN  sumD  sumG  named  generic_ratio  unassigned  I_raw  I  sd  BEV  BEVcities")
    for p in provs:
        cp = [c for c in cities if c["p"] == p]
        g = gen_report[p]
        print(f"{p:14s} {C[p]:7.1f} {M[p]:6.1f} {S[p]:6.1f} {GEN[p]:7.1f} {sum(c['D'] for c in cp):7.1f} "
              f"{sum(c['G'] for c in cp):7.1f} {g['named']:6.1f} x{g['named_scale']:.2f} "
              f"{(g['generic_ratio'] if g['generic_ratio'] is not None else float('nan')):5.2f} {g['unassigned']:7.1f} "
              f"{I_raw[p]:7.1f} {I[p]:6.1f} {I_sd[p]:5.1f} {bev_prov[p]:8d} {bev_prov[p]-bev_rest[p]:8d}")
    print("pool-margin reductions:", pool_cut)
    print("corridors above", f"{UTIL_WARN_H:.0f} h/yr (both directions, sent):", util_report or "none")
    print("v2 calibration: province  a_p (TWh carrying I_p)  tot  carved-out local use  I_raw  I  sd  flag")
    for p in provs:
        carved = sum(c["Lw"] for c in cities if c["p"] == p and "J" in c)
        print(f"  {p:14s} {a[p]:7.1f} {tot[p]:7.1f} {carved:6.1f} {I_raw[p]:7.1f} {I[p]:6.1f} {I_sd[p]:5.1f}  {flags[p]}")
    print(f"own intensities: {sum('K' in l for l in links)} links, {sum('J' in c for c in cities)} cities; "
          f"flagged residuals: {[p for p in provs if flags[p]] or 'none'}")
    print(f"sum C {sum(C.values()):.2f}; sum city D {sum(c['D'] for c in cities):.2f}; "
          f"BEV national {sum(bev_prov.values())}; BEV in cities {sum(c['bev'] for c in cities)}")
    with open(os.path.join(HERE, "excluded_units.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "province", "reason"])
        for e in excluded:
            w.writerow(e)


if __name__ == "__main__":
    main()
