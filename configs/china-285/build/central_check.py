#!/usr/bin/env python3
"""Evaluate the evcarbon attribution model (v2) at central parameter values (independent check, stdlib only).

Usage: python3 configs/china-285/build/central_check.py [CONFIG] [--cities] [--scenarios]
CONFIG defaults to configs/china-285.toml. Central value of a distribution: fixed value; normal mean; lognormal given by
mean: the mean, by median: the median, by mu: exp(mu); triangular/pert mode; uniform midpoint; beta mean; gamma mean
(truncation bounds are ignored).

Model v2 (the model section of the repository README and configs/china-285/README.md section 5): optional
link_intensity K_l (default: the sender's gen_intensity) and city_gen_intensity J_c (default: the province's
gen_intensity); a row whose cells are empty in every column its parameter block reads has no value of its own, a row
with some of them empty is an error. Keys the engine uses for sampling only (province_share) and the
[headlines.reported] block do not change central values; the reported figures are printed next to the metrics.

Prints per province: C_p, M_p, sum L_c, O_p, the residual intensity I_p, the pool intensity
P_p = [O_p I_p + sum_l sent_l K_l] / (O_p + M_p), the consumption-side intensity
K_p = [sum_c L_c J_c + O_p I_p + sum_l sent_l K_l] / (sum_c L_c + O_p + M_p) and the published MEE 2022 factor; then the
headline metrics at central values; with --scenarios, every [scenarios.*] block evaluated at central values.
"""
import csv
import math
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.normpath(os.path.join(HERE, "..", "..", "china-285.toml"))

REQUIRED = {"gen_intensity": "provinces", "province_consumption_twh": "provinces", "delivered_twh": "links",
            "loss": "links", "city_consumption_twh": "cities", "city_generation_twh": "cities",
            "distribution_loss": "cities", "ev_stock": "cities", "vkt_km": "cities", "ev_kwh_per_100km": "cities",
            "charging_efficiency": "cities", "ice_l_per_100km": "cities", "gasoline_kgco2_per_l": "cities",
            "gasoline_wtt_uplift": "cities"}
OPTIONAL = {"ev_extra_g_per_km": "cities", "ice_extra_g_per_km": "cities", "link_intensity": "links",
            "city_gen_intensity": "cities"}
LEVEL = REQUIRED | OPTIONAL
# optional parameters whose rows may have no value of their own (empty cells) and what they default to
DEFAULTED = {"link_intensity", "city_gen_intensity"}
NON_DIST_KEYS = {"dist", "scope", "province_share"}
REPORTED_FALLBACK = {"advanced_import_share": 0.42, "max_ev_penalty": 0.52, "importer_city_share": 0.5}


def arg(spec, key, row):
    x = spec[key]
    return float(row[x["column"]]) if isinstance(x, dict) else float(x)


def centre(spec, row):
    v = lambda key: arg(spec, key, row)
    d = spec["dist"]
    if d == "fixed":
        return v("value")
    if d == "uniform":
        return (v("min") + v("max")) / 2
    if d in ("triangular", "pert"):
        return v("mode")
    if d == "normal":
        return v("mean")
    if d == "lognormal":
        if "mean" in spec:
            return v("mean")
        if "median" in spec:
            return v("median")
        return math.exp(v("mu"))
    if d == "beta":
        a, b = v("alpha"), v("beta")
        lo = v("min") if "min" in spec else 0.0
        hi = v("max") if "max" in spec else 1.0
        return lo + (hi - lo) * a / (a + b)
    if d == "gamma":
        return v("shape") * v("scale")
    raise SystemExit(f"unknown dist {d}")


def columns_read(spec):
    return [val["column"] for key, val in spec.items() if isinstance(val, dict) and key not in NON_DIST_KEYS]


def has_own(spec, row):
    """True/False for a row of an optional parameter; raises on a partly empty row."""
    cols = columns_read(spec)
    empty = [row[c].strip() == "" for c in cols]
    if cols and all(empty):
        return False
    if any(empty):
        raise ValueError("some of the cells " + ", ".join(cols) + " are empty and others are not")
    return True


def validate(cfg, tables):
    """Light re-implementation of the data checks of the configuration format (not a substitute for the engine)."""
    errs = []
    par = cfg["params"]
    for k in REQUIRED:
        if k not in par:
            errs.append(f"missing parameter {k}")
    for k in par:
        if k not in LEVEL:
            errs.append(f"unknown parameter {k}")
    for name, spec in par.items():
        tab = tables[LEVEL.get(name, "cities")]
        cols = columns_read(spec)
        for col in cols:
            if col not in tab[0]:
                errs.append(f"{name}: missing column {col}")
        if any(col not in tab[0] for col in cols):
            continue
        for i, row in enumerate(tab):
            if name in DEFAULTED:
                try:
                    if not has_own(spec, row):
                        continue
                except ValueError as e:
                    errs.append(f"{name}: row {i+2}: {e}")
                    continue
            for col in cols:
                try:
                    x = float(row[col])
                    if not math.isfinite(x):
                        raise ValueError
                except ValueError:
                    errs.append(f"{name}: row {i+2} column {col} not a finite number: {row[col]!r}")
        if "province_share" in spec:
            w = spec["province_share"]
            if not (isinstance(w, (int, float)) and 0 <= w < 1) or spec["dist"] not in ("normal", "lognormal"):
                errs.append(f"{name}: province_share must be a number in [0, 1) on a normal or lognormal")
        if spec["dist"] in ("uniform", "triangular", "pert") and name in ("loss", "distribution_loss", "charging_efficiency"):
            for row in tab:
                hi = centre({"dist": "fixed", "value": spec["max"]}, row)
                lo = centre({"dist": "fixed", "value": spec["min"]}, row)
                if lo < 0 or hi >= 1 and name != "charging_efficiency" or hi > 1 or (name == "charging_efficiency" and lo <= 0):
                    errs.append(f"{name}: support [{lo}, {hi}] leaves the physical range")
                    break
    provs = {p["province"] for p in tables["provinces"]}
    ids = [c["city_id"] for c in tables["cities"]]
    if len(set(ids)) != len(ids):
        errs.append("duplicate city_id")
    if len(provs) != len(tables["provinces"]):
        errs.append("duplicate province")
    for c in tables["cities"]:
        if c["province"] not in provs:
            errs.append(f"city {c['city_id']}: unknown province {c['province']}")
        if float(c["consumption_twh"]) <= 0:
            errs.append(f"city {c['city_id']}: consumption must be > 0")
    for l in tables["links"]:
        for k in ("from", "to"):
            if l[k] not in provs:
                errs.append(f"link {l['from']}->{l['to']}: unknown province {l[k]}")
    return errs


def central_values(par, tables):
    """param -> list of central values per entity of its level (None: no value of its own / absent optional)."""
    vals = {}
    for name, level in LEVEL.items():
        tab = tables[level]
        if name not in par:
            vals[name] = [None] * len(tab)
            continue
        spec = par[name]
        vals[name] = [centre(spec, row) if (name not in DEFAULTED or has_own(spec, row)) else None for row in tab]
    return vals


def evaluate(vals, tables, wtw, adv):
    provs, cities, links = tables["provinces"], tables["cities"], tables["links"]
    pn = [p["province"] for p in provs]
    I = dict(zip(pn, vals["gen_intensity"]))
    C = dict(zip(pn, vals["province_consumption_twh"]))
    F, lam = vals["delivered_twh"], vals["loss"]
    K = [k if k is not None else I[l["from"]] for l, k in zip(links, vals["link_intensity"])]
    sent = [f / (1 - lm) for f, lm in zip(F, lam)]
    M = {p: 0.0 for p in pn}
    for l, f in zip(links, F):
        M[l["to"]] += f
    cd = []
    for i, c in enumerate(cities):
        g = lambda name, default=0.0: vals[name][i] if vals[name][i] is not None else default
        cd.append(dict(id=c["city_id"], name=c["city"], py=c.get("city_en", c.get("city_pinyin", "")), p=c["province"], tier=c["tier"],
                       D=g("city_consumption_twh"), G=g("city_generation_twh"), dl=g("distribution_loss"),
                       stock=g("ev_stock"), vkt=g("vkt_km"), kwh=g("ev_kwh_per_100km"), eta=g("charging_efficiency"),
                       ice_l=g("ice_l_per_100km"), gas=g("gasoline_kgco2_per_l"), u=g("gasoline_wtt_uplift"),
                       ev_x=g("ev_extra_g_per_km"), ice_x=g("ice_extra_g_per_km"),
                       J=g("city_gen_intensity", I[c["province"]]), ownJ=vals["city_gen_intensity"][i] is not None))
    sumL = {p: 0.0 for p in pn}
    sumLJ = {p: 0.0 for p in pn}
    for c in cd:
        c["L"] = min(c["G"], c["D"])
        sumL[c["p"]] += c["L"]
        sumLJ[c["p"]] += c["L"] * c["J"]
    O, P, Kc, psi = {}, {}, {}, {}
    for p in pn:
        O[p] = max(C[p] - M[p] - sumL[p], 0.0)
        num = O[p] * I[p]
        shares = {}
        for l, s, k in zip(links, sent, K):
            if l["to"] == p:
                num += s * k
                shares[l["from"]] = shares.get(l["from"], 0.0) + s * k
        den = O[p] + M[p]
        P[p] = num / den if den > 0 else I[p]
        if den > 0 and num > 0:
            psi[p] = {q: e / num for q, e in shares.items()}
            psi[p][p] = psi[p].get(p, 0.0) + O[p] * I[p] / num
        else:
            psi[p] = {}
        Kc[p] = (sumLJ[p] + (num if den > 0 else 0.0)) / (sumL[p] + den)
    for c in cd:
        p = c["p"]
        c["i"] = 1 - c["L"] / c["D"]
        c["S"] = ((1 - c["i"]) * c["J"] + c["i"] * P[p]) / (1 - c["dl"])
        c["ev"] = c["kwh"] / 100 / c["eta"] * c["S"] + c["ev_x"]
        c["ice"] = c["ice_l"] / 100 * c["gas"] * 1000 * (1 + (c["u"] if wtw else 0.0)) + c["ice_x"]
        c["ratio"] = c["ev"] / c["ice"]
        c["E"] = c["stock"] * c["vkt"] * c["kwh"] / 100 / c["eta"] / 1e6
        c["T"] = c["E"] * (1 - c["i"]) * c["J"] / (1 - c["dl"])
        c["X"] = c["E"] * c["i"] * P[p] / (1 - c["dl"])
        c["Z"] = c["T"] + c["X"]
        c["U"] = max(c["G"] - c["D"], 0.0)
    # landed burden: Lambda_r = sum_c X_c psi_{p(c), r}; inside r shared by emissions: surplus cities U_s J_s, the rest
    # of the province R_r I_r with R_r = max(Q_r - sum U_s, 0), Q_r = O_r + sum_{l from r} sent_l (v1 when J_s = I_r)
    Lam = {p: 0.0 for p in pn}
    for c in cd:
        for r_, s in psi[c["p"]].items():
            Lam[r_] += c["X"] * s
    rest = {}
    for r_ in pn:
        Q = O[r_] + sum(s for l, s in zip(links, sent) if l["from"] == r_)
        members = [c for c in cd if c["p"] == r_]
        sU = sum(c["U"] for c in members)
        R = max(Q - sU, 0.0)
        wsum = sum(c["U"] * c["J"] for c in members) + R * I[r_]
        for c in members:
            c["B"] = Lam[r_] * c["U"] * c["J"] / wsum if wsum > 0 else 0.0
        rest[r_] = Lam[r_] * R * I[r_] / wsum if wsum > 0 else Lam[r_]
    for c in cd:
        c["N"] = c["X"] - c["B"]
    A = [c for c in cd if c["tier"] in adv]
    worst = max(cd, key=lambda c: c["ratio"])
    head = dict(advanced_import_share=sum(c["E"] * c["i"] for c in A) / sum(c["E"] for c in A),
                max_ev_penalty=worst["ratio"] - 1,
                importer_city_share=sum(c["N"] > 0 for c in cd) / len(cd),
                ev_worse_city_share=sum(c["ratio"] > 1 for c in cd) / len(cd),
                shifted_emissions_t=sum(c["X"] for c in cd),
                advanced_territorial_gap=1 - sum(c["T"] for c in A) / sum(c["Z"] for c in A))
    return dict(I=I, C=C, M=M, sumL=sumL, O=O, P=P, Kc=Kc, cd=cd, head=head, worst=worst, K=K, Lam=Lam, rest=rest)


def select(change, level, tables):
    """Indices of the entities of `level` that a scenario change applies to (all without a selection)."""
    tab = tables[level]
    keys = [k for k in ("provinces", "cities", "links") if k in change]
    if not keys:
        return set(range(len(tab)))
    out = set()
    for i, row in enumerate(tab):
        if level == "provinces" and row["province"] in change.get("provinces", []):
            out.add(i)
        if level == "cities" and (row["province"] in change.get("provinces", []) or row["city_id"] in change.get("cities", [])):
            out.add(i)
        if level == "links" and (row["from"] in change.get("provinces", [])
                                 or f"{row['from']}->{row['to']}" in change.get("links", [])):
            out.add(i)
    return out


def apply_scenario(vals, scen, tables):
    new = {k: list(v) for k, v in vals.items()}
    for ch in scen.get("changes", []):
        name = ch["param"]
        level = LEVEL[name]
        idx = select(ch, level, tables)
        for i in sorted(idx):
            if "dist" in ch:
                new[name][i] = centre(ch, tables[level][i])
            else:
                base = new[name][i]
                if base is None:   # an optional parameter without a value of its own: its default
                    if name == "link_intensity":
                        base = new["gen_intensity"][[p["province"] for p in tables["provinces"]].index(tables["links"][i]["from"])]
                    elif name == "city_gen_intensity":
                        base = new["gen_intensity"][[p["province"] for p in tables["provinces"]].index(tables["cities"][i]["province"])]
                    else:
                        base = 0.0
                new[name][i] = base * ch.get("scale", 1.0) + ch.get("shift", 0.0)
    return new


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    cfg_path = args[0] if args else DEFAULT_CONFIG
    with open(cfg_path, "rb") as f:
        cfg = tomllib.load(f)
    base = os.path.dirname(os.path.abspath(cfg_path))
    def load(k):
        with open(os.path.join(base, cfg["data"][k]), encoding="utf-8") as f:
            return list(csv.DictReader(ln for ln in f if not ln.startswith("#")))
    tables = {"provinces": load("provinces"), "cities": load("cities"), "links": load("links")}
    par = cfg["params"]
    errs = validate(cfg, tables)
    print(f"# data checks: {len(tables['provinces'])} provinces, {len(tables['cities'])} cities, "
          f"{len(tables['links'])} links; " + ("all passed" if not errs else f"{len(errs)} problem(s)"))
    for e in errs:
        print("  ERROR", e)
    if errs:
        sys.exit(2)
    wtw = cfg["accounting"]["ice_basis"] == "wtw"
    adv = set(cfg["accounting"]["advanced_tiers"])
    reported = dict(REPORTED_FALLBACK, **cfg.get("headlines", {}).get("reported", {}))
    vals = central_values(par, tables)
    res = evaluate(vals, tables, wtw, adv)
    n_k = sum(v is not None for v in vals["link_intensity"])
    n_j = sum(v is not None for v in vals["city_gen_intensity"])
    print(f"# model v2: {n_k} links with their own link_intensity, {n_j} cities with their own city_gen_intensity")

    pub = {p["province"]: p.get("mee_factor_2022_g_per_kwh", "") for p in tables["provinces"]}
    print("# Provincial intensities at central values (g CO2/kWh); diff = K_cons - published MEE 2022")
    print(f"{'province':14s} {'C_twh':>8s} {'M_twh':>7s} {'sumL':>7s} {'O_twh':>7s} {'I_res':>6s} {'P_pool':>7s}"
          f" {'K_cons':>7s} {'MEE2022':>7s} {'diff':>6s} {'diff%':>6s}")
    for p in res["I"]:
        f22 = float(pub[p]) if pub[p] not in ("", None) else None
        d = (res["Kc"][p] - f22) if f22 is not None else None
        print(f"{p:14s} {res['C'][p]:8.1f} {res['M'][p]:7.1f} {res['sumL'][p]:7.1f} {res['O'][p]:7.1f} {res['I'][p]:6.1f} "
              f"{res['P'][p]:7.1f} {res['Kc'][p]:7.1f} "
              + (f"{f22:7.1f} {d:6.1f} {100*d/f22:6.1f}" if f22 is not None else f"{'n/a':>7s} {'':>6s} {'':>6s}"))
    natK = sum(res["Kc"][p] * res["C"][p] for p in res["I"]) / sum(res["C"].values())
    print(f"consumption-weighted national K_cons: {natK:.1f} g/kWh (published national grid average 2022: 536.6)")

    h, worst, cd = res["head"], res["worst"], res["cd"]
    print("\n# Headline metrics at central values")
    print(f"advanced_import_share   {h['advanced_import_share']:.3f}   (reported {reported['advanced_import_share']})")
    print(f"max_ev_penalty          {h['max_ev_penalty']:.3f}   (reported {reported['max_ev_penalty']}; "
          f"city {worst['name']} {worst['py']})")
    print(f"importer_city_share     {h['importer_city_share']:.3f}   (reported {reported['importer_city_share']})")
    print(f"ev_worse_city_share     {h['ev_worse_city_share']:.3f}")
    print(f"shifted_emissions_t     {h['shifted_emissions_t']:,.0f}")
    print(f"advanced_territorial_gap {h['advanced_territorial_gap']:.3f}")
    print(f"exporter cities (G > D): {sum(c['G'] > c['D'] for c in cd)}; total EV energy {sum(c['E'] for c in cd):,.0f} GWh")
    top = sorted(cd, key=lambda c: -c["B"])[:5]
    print("largest burden received (t/yr): " + "; ".join(f"{c['py']} {c['B']:,.0f}" for c in top))

    if "--scenarios" in sys.argv:
        print("\n# Scenarios at central values (same central inputs; changes and accounting applied)")
        names = list(cfg.get("scenarios", {}))
        print(f"{'scenario':34s} {'ice':>4s} {'adv_imp':>7s} {'max_pen':>8s} {'worst city':>14s} {'imp_sh':>6s} "
              f"{'worse_sh':>8s} {'shifted_t':>11s} {'terr_gap':>8s}")
        rows = [("baseline", cfg["accounting"]["ice_basis"], res)]
        for n in names:
            sc = cfg["scenarios"][n]
            acc = dict(cfg["accounting"], **sc.get("accounting", {}))
            v2 = apply_scenario(vals, sc, tables)
            rows.append((n, acc["ice_basis"], evaluate(v2, tables, acc["ice_basis"] == "wtw", set(acc["advanced_tiers"]))))
        for n, ice, rr in rows:
            hh = rr["head"]
            print(f"{n:34s} {ice:>4s} {hh['advanced_import_share']:7.3f} {hh['max_ev_penalty']:8.3f} "
                  f"{rr['worst']['py']:>14s} {hh['importer_city_share']:6.3f} {hh['ev_worse_city_share']:8.3f} "
                  f"{hh['shifted_emissions_t']:11,.0f} {hh['advanced_territorial_gap']:8.3f}")

    if "--cities" in sys.argv:
        print("\ncity_id city pinyin province tier D G import_share J S ev_g_km ice_g_km ratio E_gwh X_t B_t N_t")
        for c in cd:
            print(f"{c['id']} {c['name']} {c['py']} {c['p']} {c['tier']} {c['D']:.2f} {c['G']:.2f} {c['i']:.3f} "
                  f"{c['J']:.0f} {c['S']:.0f} {c['ev']:.1f} {c['ice']:.1f} {c['ratio']:.3f} {c['E']:.1f} {c['X']:.0f} "
                  f"{c['B']:.0f} {c['N']:.0f}")


if __name__ == "__main__":
    main()
