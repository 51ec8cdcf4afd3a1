#!/usr/bin/env python3
"""Evaluate the SPEC section 2 model of evcarbon at central parameter values (independent check, stdlib only).

Usage: python3 configs/china-285/build/central_check.py [CONFIG] [--cities]
CONFIG defaults to configs/china-285.toml. Central value of a distribution: fixed value; normal/lognormal mean
(lognormal given by median: the median); triangular/pert mode; uniform midpoint; beta mean; gamma mean.
Prints per province: C_p, M_p, sum L_c, O_p, pool intensity P_p, the model's consumption-side intensity
K_p = [sum_c L_c I_p + (O_p+M_p) P_p] / (sum_c L_c + O_p + M_p), and the published MEE 2022 factor; then the
headline metrics at central values.
"""
import csv
import math
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.normpath(os.path.join(HERE, "..", "..", "china-285.toml"))


def centre(spec, row):
    def v(key):
        x = spec[key]
        return float(row[x["column"]]) if isinstance(x, dict) else float(x)
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


REQUIRED = {"gen_intensity": "provinces", "province_consumption_twh": "provinces", "delivered_twh": "links",
            "loss": "links", "city_consumption_twh": "cities", "city_generation_twh": "cities",
            "distribution_loss": "cities", "ev_stock": "cities", "vkt_km": "cities", "ev_kwh_per_100km": "cities",
            "charging_efficiency": "cities", "ice_l_per_100km": "cities", "gasoline_kgco2_per_l": "cities",
            "gasoline_wtt_uplift": "cities"}
OPTIONAL = {"ev_extra_g_per_km": "cities", "ice_extra_g_per_km": "cities"}


def validate(cfg, tables):
    """Light re-implementation of the SPEC section 3 checks that concern the data (not a substitute for the engine)."""
    errs = []
    par = cfg["params"]
    for k in REQUIRED:
        if k not in par:
            errs.append(f"missing parameter {k}")
    for k in par:
        if k not in REQUIRED and k not in OPTIONAL:
            errs.append(f"unknown parameter {k}")
    for name, spec in par.items():
        tab = tables[(REQUIRED | OPTIONAL).get(name, "cities")]
        for key, val in spec.items():
            if isinstance(val, dict):
                col = val["column"]
                if col not in tab[0]:
                    errs.append(f"{name}.{key}: missing column {col}")
                    continue
                for i, row in enumerate(tab):
                    try:
                        x = float(row[col])
                        if not math.isfinite(x):
                            raise ValueError
                    except ValueError:
                        errs.append(f"{name}.{key}: row {i+2} column {col} not a finite number: {row[col]!r}")
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


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    cfg_path = args[0] if args else DEFAULT_CONFIG
    with open(cfg_path, "rb") as f:
        cfg = tomllib.load(f)
    base = os.path.dirname(os.path.abspath(cfg_path))
    load = lambda k: list(csv.DictReader(open(os.path.join(base, cfg["data"][k]), encoding="utf-8")))
    provs, cities, links = load("provinces"), load("cities"), load("links")
    par = cfg["params"]
    errs = validate(cfg, {"provinces": provs, "cities": cities, "links": links})
    print(f"# data checks: {len(provs)} provinces, {len(cities)} cities, {len(links)} links; "
          + ("all passed" if not errs else f"{len(errs)} problem(s)"))
    for e in errs:
        print("  ERROR", e)
    wtw = cfg["accounting"]["ice_basis"] == "wtw"
    adv = set(cfg["accounting"]["advanced_tiers"])

    I = {p["province"]: centre(par["gen_intensity"], p) for p in provs}
    C = {p["province"]: centre(par["province_consumption_twh"], p) for p in provs}
    pub = {p["province"]: p.get("mee_factor_2022_g_per_kwh", "") for p in provs}
    F = [centre(par["delivered_twh"], l) for l in links]
    lam = [centre(par["loss"], l) for l in links]
    M = {p: 0.0 for p in I}
    for l, f in zip(links, F):
        M[l["to"]] += f
    cd = []
    for c in cities:
        g = lambda name, default=0.0: centre(par[name], c) if name in par else default
        cd.append(dict(id=c["city_id"], name=c["city"], py=c.get("city_pinyin", ""), p=c["province"], tier=c["tier"],
                       D=g("city_consumption_twh"), G=g("city_generation_twh"), dl=g("distribution_loss"),
                       stock=g("ev_stock"), vkt=g("vkt_km"), kwh=g("ev_kwh_per_100km"), eta=g("charging_efficiency"),
                       ice_l=g("ice_l_per_100km"), gas=g("gasoline_kgco2_per_l"), u=g("gasoline_wtt_uplift"),
                       ev_x=g("ev_extra_g_per_km"), ice_x=g("ice_extra_g_per_km")))
    sumL = {p: 0.0 for p in I}
    for c in cd:
        c["L"] = min(c["G"], c["D"])
        sumL[c["p"]] += c["L"]
    O, P, K, psi = {}, {}, {}, {}
    for p in I:
        O[p] = max(C[p] - M[p] - sumL[p], 0.0)
        num = O[p] * I[p]
        shares = {}
        for l, f, lm in zip(links, F, lam):
            if l["to"] == p:
                e = f / (1 - lm) * I[l["from"]]
                num += e
                shares[l["from"]] = shares.get(l["from"], 0.0) + e
        den = O[p] + M[p]
        P[p] = num / den if den > 0 else float("nan")
        if den > 0 and num > 0:
            psi[p] = {q: e / num for q, e in shares.items()}
            psi[p][p] = psi[p].get(p, 0.0) + O[p] * I[p] / num
        else:
            psi[p] = {}
        tot = sumL[p] + den
        K[p] = (sumL[p] * I[p] + (den * P[p] if den > 0 else 0.0)) / tot

    print("# Provincial intensities at central values (g CO2/kWh); diff = K - published MEE 2022")
    print(f"{'province':14s} {'C_twh':>8s} {'M_twh':>7s} {'sumL':>7s} {'O_twh':>7s} {'I_gen':>6s} {'P_pool':>7s}"
          f" {'K_cons':>7s} {'MEE2022':>7s} {'diff':>6s} {'diff%':>6s}")
    for p in I:
        f22 = float(pub[p]) if pub[p] not in ("", None) else None
        d = (K[p] - f22) if f22 is not None else None
        print(f"{p:14s} {C[p]:8.1f} {M[p]:7.1f} {sumL[p]:7.1f} {O[p]:7.1f} {I[p]:6.1f} {P[p]:7.1f} {K[p]:7.1f} "
              + (f"{f22:7.1f} {d:6.1f} {100*d/f22:6.1f}" if f22 is not None else f"{'n/a':>7s} {'':>6s} {'':>6s}"))
    natK = sum(K[p] * C[p] for p in I) / sum(C.values())
    print(f"consumption-weighted national K: {natK:.1f} g/kWh (published national grid average 2022: 536.6)")

    # city metrics
    for c in cd:
        p = c["p"]
        c["i"] = 1 - c["L"] / c["D"]
        c["S"] = ((1 - c["i"]) * I[p] + c["i"] * P[p]) / (1 - c["dl"])
        c["ev"] = c["kwh"] / 100 / c["eta"] * c["S"] + c["ev_x"]
        c["ice"] = c["ice_l"] / 100 * c["gas"] * 1000 * (1 + (c["u"] if wtw else 0.0)) + c["ice_x"]
        c["ratio"] = c["ev"] / c["ice"]
        c["E"] = c["stock"] * c["vkt"] * c["kwh"] / 100 / c["eta"] / 1e6
        c["Z"] = c["E"] * c["S"]
        c["T"] = c["E"] * (1 - c["i"]) * I[p] / (1 - c["dl"])
        c["X"] = c["Z"] - c["T"]
        c["U"] = max(c["G"] - c["D"], 0.0)
    Lam = {p: 0.0 for p in I}
    for c in cd:
        for r, s in psi[c["p"]].items():
            Lam[r] += c["X"] * s
    for r in I:
        Q = O[r] + sum(f / (1 - lm) for l, f, lm in zip(links, F, lam) if l["from"] == r)
        sU = sum(c["U"] for c in cd if c["p"] == r)
        for c in cd:
            if c["p"] == r:
                den = max(Q, sU)
                c["B"] = Lam[r] * c["U"] / den if den > 0 else 0.0
    for c in cd:
        c["N"] = c["X"] - c["B"]
    A = [c for c in cd if c["tier"] in adv]
    print("\n# Headline metrics at central values")
    print(f"advanced_import_share   {sum(c['E']*c['i'] for c in A)/sum(c['E'] for c in A):.3f}   (reported 0.42)")
    worst = max(cd, key=lambda c: c["ratio"])
    print(f"max_ev_penalty          {worst['ratio']-1:.3f}   (reported 0.52; city {worst['name']} {worst['py']})")
    print(f"importer_city_share     {sum(c['N'] > 0 for c in cd)/len(cd):.3f}   (reported ~0.5)")
    print(f"ev_worse_city_share     {sum(c['ratio'] > 1 for c in cd)/len(cd):.3f}")
    print(f"shifted_emissions_t     {sum(c['X'] for c in cd):,.0f}")
    print(f"advanced_territorial_gap {1 - sum(c['T'] for c in A)/sum(c['Z'] for c in A):.3f}")
    print(f"exporter cities (G > D): {sum(c['G'] > c['D'] for c in cd)}; total EV energy {sum(c['E'] for c in cd):,.0f} GWh")
    if "--cities" in sys.argv:
        print("\ncity_id city pinyin province tier D G import_share S ev_g_km ice_g_km ratio E_gwh X_t B_t N_t")
        for c in cd:
            print(f"{c['id']} {c['name']} {c['py']} {c['p']} {c['tier']} {c['D']:.2f} {c['G']:.2f} {c['i']:.3f} "
                  f"{c['S']:.0f} {c['ev']:.1f} {c['ice']:.1f} {c['ratio']:.3f} {c['E']:.1f} {c['X']:.0f} {c['B']:.0f} {c['N']:.0f}")


if __name__ == "__main__":
    main()
