//! Bad configs and tables: each exits with status 2 and a message that names the
//! file and the key or row, and nothing panics.

mod common;
use common::*;

/// One broken input: which file to edit, how, and what the message must name.
struct Case {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    expect: &'static [&'static str],
}

/// The last line of the example config, where correlation cases append entries.
macro_rules! end_str {
    () => {
        "# ice_extra_g_per_km is optional and left out: it defaults to 0."
    };
}

const CASES: &[Case] = &[
    Case {
        name: "correlation of an unknown parameter",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"los\"]\nrank = 0.3\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0].params",
            "unknown parameter `los`",
        ],
    },
    Case {
        name: "parameter correlated with itself",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"loss\"]\nrank = 0.3\n"
        ),
        expect: &["example.toml:1", "correlations[0].params", "with itself"],
    },
    Case {
        name: "correlation of 1",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\"]\nrank = 1.0\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0].rank",
            "strictly between -1 and 1",
        ],
    },
    Case {
        name: "correlation not a number",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\"]\nrank = \"high\"\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0].rank",
            "expected a number",
        ],
    },
    Case {
        name: "correlation without rank",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\"]\n"
        ),
        expect: &["example.toml:1", "correlations[0].rank", "missing"],
    },
    Case {
        name: "correlation of three parameters",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\", \"vkt_km\"]\nrank = 0.2\n"
        ),
        expect: &["example.toml:1", "correlations[0].params", "exactly two"],
    },
    Case {
        name: "unknown correlation key",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\"]\nrank = 0.2\nkind = \"spearman\"\n"
        ),
        expect: &["example.toml:1", "correlations[0].kind", "unknown key"],
    },
    Case {
        name: "correlations not an array of tables",
        file: "example.toml",
        from: "[run]",
        to: "correlations = 3\n\n[run]",
        expect: &["example.toml:5", "correlations", "array of tables"],
    },
    Case {
        name: "duplicate correlation",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_kwh_per_100km\"]\nrank = 0.2\n\n[[correlations]]\nparams = [\"ev_kwh_per_100km\", \"loss\"]\nrank = 0.4\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[1]",
            "duplicate correlation",
            "first on line 1",
        ],
    },
    Case {
        name: "correlated parameters that do not pair up",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"loss\", \"ev_stock\"]\nrank = 0.2\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0]",
            "do not pair up",
            "one variate per city",
        ],
    },
    Case {
        name: "correlation of a fixed parameter",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"ev_extra_g_per_km\", \"loss\"]\nrank = 0.2\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0]",
            "`ev_extra_g_per_km` is not random",
        ],
    },
    Case {
        name: "correlations that are not positive definite",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[[correlations]]\nparams = [\"ev_kwh_per_100km\", \"charging_efficiency\"]\nrank = 0.9\n\n[[correlations]]\nparams = [\"charging_efficiency\", \"ice_l_per_100km\"]\nrank = 0.9\n\n[[correlations]]\nparams = [\"ev_kwh_per_100km\", \"ice_l_per_100km\"]\nrank = -0.9\n"
        ),
        expect: &[
            "example.toml:1",
            "correlations[0]",
            "not positive definite",
            "ev_kwh_per_100km–ice_l_per_100km (-0.9)",
            "entries on lines 1",
        ],
    },
    Case {
        name: "unknown top-level table",
        file: "example.toml",
        from: "[data]",
        to: "[extras]\nx = 1\n\n[data]",
        expect: &["example.toml:", "unknown key `extras`"],
    },
    Case {
        name: "unknown run key",
        file: "example.toml",
        from: "seed = 20261128",
        to: "seed = 20261128\ndrawz = 5",
        expect: &["example.toml:", "run.drawz"],
    },
    Case {
        name: "zero draws",
        file: "example.toml",
        from: "draws = 100_000",
        to: "draws = 0",
        expect: &["example.toml:", "run.draws", "at least 1"],
    },
    Case {
        name: "draws not a number",
        file: "example.toml",
        from: "draws = 100_000",
        to: "draws = \"many\"",
        expect: &["example.toml:", "run.draws", "whole number"],
    },
    Case {
        name: "missing seed",
        file: "example.toml",
        from: "seed = 20261128",
        to: "",
        expect: &["example.toml:", "run.seed", "missing"],
    },
    Case {
        name: "unknown sampler",
        file: "example.toml",
        from: "sampler = \"mc\"",
        to: "sampler = \"quasi\"",
        expect: &["example.toml:", "run.sampler", "mc, lhs, sobol"],
    },
    Case {
        name: "level of 1",
        file: "example.toml",
        from: "levels = [0.90, 0.95]",
        to: "levels = [0.90, 1.0]",
        expect: &["example.toml:", "run.levels", "strictly between 0 and 1"],
    },
    Case {
        name: "duplicate level",
        file: "example.toml",
        from: "levels = [0.90, 0.95]",
        to: "levels = [0.90, 0.9]",
        expect: &["example.toml:", "run.levels", "twice"],
    },
    Case {
        name: "unknown ice basis",
        file: "example.toml",
        from: "ice_basis = \"wtw\"",
        to: "ice_basis = \"both\"",
        expect: &["example.toml:", "accounting.ice_basis", "ttw"],
    },
    Case {
        name: "advanced tier matching no city",
        file: "example.toml",
        from: "[\"tier1\", \"new_tier1\"]",
        to: "[\"tier1\", \"teir2\"]",
        expect: &["example.toml:", "accounting.advanced_tiers", "teir2"],
    },
    Case {
        name: "unknown parameter",
        file: "example.toml",
        from: "[params.loss]",
        to: "[params.los]",
        expect: &[
            "example.toml:",
            "params.los",
            "unknown parameter",
            "params.loss",
        ],
    },
    Case {
        name: "missing parameter",
        file: "example.toml",
        from: "[params.vkt_km]\nscope = \"province\"\ndist = \"gamma\"\nshape = 64.0\nscale = { column = \"vkt_scale_km\" }",
        to: "",
        expect: &["example.toml:", "params.vkt_km", "missing parameter"],
    },
    Case {
        name: "unknown distribution",
        file: "example.toml",
        from: "dist = \"gamma\"",
        to: "dist = \"weibull\"",
        expect: &["example.toml:", "params.vkt_km.dist", "weibull"],
    },
    Case {
        name: "arguments of another family",
        file: "example.toml",
        from: "mean = 2.32\nsd = 0.02",
        to: "median = 2.32\ngsd = 1.1",
        expect: &["example.toml:", "params.gasoline_kgco2_per_l", "mean + sd"],
    },
    Case {
        name: "negative sd",
        file: "example.toml",
        from: "sd = 0.02",
        to: "sd = -0.02",
        expect: &["example.toml:", "params.gasoline_kgco2_per_l", "sd"],
    },
    Case {
        name: "gsd below 1",
        file: "example.toml",
        from: "gsd = 1.15",
        to: "gsd = 0.9",
        expect: &["example.toml:", "params.ev_kwh_per_100km", "gsd"],
    },
    Case {
        name: "uniform min not below max",
        file: "example.toml",
        from: "min = 0.85\nmax = 0.93",
        to: "min = 0.93\nmax = 0.85",
        expect: &["example.toml:", "params.charging_efficiency", "below `max`"],
    },
    Case {
        name: "mode outside the range",
        file: "example.toml",
        from: "mode = 0.18",
        to: "mode = 0.3",
        expect: &["example.toml:", "params.gasoline_wtt_uplift", "mode"],
    },
    Case {
        name: "loss reaching 1",
        file: "example.toml",
        from: "min = 0.03\nmax = 0.09",
        to: "min = 0.03\nmax = 1.0",
        expect: &[
            "example.toml:",
            "params.distribution_loss",
            "physical range",
        ],
    },
    Case {
        name: "efficiency of zero",
        file: "example.toml",
        from: "min = 0.85\nmax = 0.93",
        to: "min = 0.0\nmax = 0.93",
        expect: &[
            "example.toml:",
            "params.charging_efficiency",
            "physical range",
        ],
    },
    Case {
        name: "scope finer than the level",
        file: "example.toml",
        from: "[params.gen_intensity]\nscope = \"province\"",
        to: "[params.gen_intensity]\nscope = \"city\"",
        expect: &[
            "example.toml:",
            "params.gen_intensity.scope",
            "global, province",
        ],
    },
    Case {
        name: "missing column",
        file: "example.toml",
        from: "scale = { column = \"vkt_scale_km\" }",
        to: "scale = { column = \"vkt_km_scale\" }",
        expect: &[
            "example.toml:",
            "params.vkt_km.scale",
            "vkt_km_scale",
            "cities.csv",
        ],
    },
    Case {
        name: "malformed column reference",
        file: "example.toml",
        from: "scale = { column = \"vkt_scale_km\" }",
        to: "scale = { col = \"vkt_scale_km\" }",
        expect: &["example.toml:", "params.vkt_km.scale", "column"],
    },
    Case {
        name: "non-finite number in the config",
        file: "example.toml",
        from: "mean = 2.32",
        to: "mean = nan",
        expect: &[
            "example.toml:",
            "params.gasoline_kgco2_per_l.mean",
            "finite",
        ],
    },
    Case {
        name: "beta alpha of zero",
        file: "example.toml",
        from: "alpha = 4.0",
        to: "alpha = 0.0",
        expect: &["example.toml:", "params.distribution_loss", "alpha"],
    },
    Case {
        name: "syntax error",
        file: "example.toml",
        from: "draws = 100_000",
        to: "draws = = 3",
        expect: &["example.toml:", "syntax"],
    },
    Case {
        name: "missing data file",
        file: "example.toml",
        from: "example/links.csv",
        to: "example/linkz.csv",
        expect: &["example.toml:", "data.links", "linkz.csv"],
    },
    Case {
        name: "non-numeric cell",
        file: "example/cities.csv",
        from: "300000",
        to: "30O000",
        expect: &["cities.csv:", "city_id `C02`", "bev_stock", "30O000"],
    },
    Case {
        name: "empty numeric cell",
        file: "example/provinces.csv",
        from: "0.04,150",
        to: "0.04,",
        expect: &[
            "provinces.csv:",
            "province `North`",
            "consumption_twh",
            "empty",
        ],
    },
    Case {
        name: "duplicate city id",
        file: "example/cities.csv",
        from: "C03,Orchard",
        to: "C02,Orchard",
        expect: &["cities.csv:", "city_id `C02`", "duplicate"],
    },
    Case {
        name: "city in an unknown province",
        file: "example/cities.csv",
        from: "N02,Steel,North",
        to: "N02,Steel,Nort",
        expect: &["cities.csv:", "city_id `N02`", "Nort"],
    },
    Case {
        name: "link from an unknown province",
        file: "example/links.csv",
        from: "West,Coast",
        to: "Wst,Coast",
        expect: &["links.csv:", "Wst"],
    },
    Case {
        name: "link to itself",
        file: "example/links.csv",
        from: "West,Coast",
        to: "West,West",
        expect: &["links.csv:", "two different provinces"],
    },
    Case {
        name: "duplicate link",
        file: "example/links.csv",
        from: "West,Coast",
        to: "North,Coast",
        expect: &["links.csv:", "duplicate link"],
    },
    Case {
        name: "missing required column",
        file: "example/cities.csv",
        from: "province,tier,",
        to: "province,tierz,",
        expect: &["cities.csv:", "column `tier`", "missing"],
    },
    Case {
        name: "row with too many cells",
        file: "example/cities.csv",
        from: "W02,Valley,West,tier3,25,1.10,1,3,30000,156.25",
        to: "W02,Valley,West,tier3,25,1.10,1,3,30000,156.25,9",
        expect: &["cities.csv:", "malformed"],
    },
    Case {
        name: "per-row impossible argument from a column",
        file: "example/links.csv",
        from: "0.05,0.07,0.10",
        to: "0.05,0.12,0.10",
        expect: &["links.csv:", "params.loss", "mode"],
    },
    Case {
        name: "scenario: unknown parameter",
        file: "example.toml",
        from: "param = \"gen_intensity\"\nprovinces",
        to: "param = \"gen_intensity_x\"\nprovinces",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0].param",
            "unknown parameter",
        ],
    },
    Case {
        name: "scenario: unknown province",
        file: "example.toml",
        from: "provinces = [\"North\"]",
        to: "provinces = [\"Nord\"]",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0].provinces",
            "Nord",
        ],
    },
    Case {
        name: "scenario: negative scale",
        file: "example.toml",
        from: "scale = 0.7",
        to: "scale = -0.7",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0].scale",
            "≥ 0",
        ],
    },
    Case {
        name: "scenario: replace and scale at once",
        file: "example.toml",
        from: "scale = 0.7",
        to: "scale = 0.7\ndist = \"fixed\"\nvalue = 1.0",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0]",
            "not both",
        ],
    },
    Case {
        name: "scenario: city filter on a province parameter",
        file: "example.toml",
        from: "provinces = [\"North\"]",
        to: "cities = [\"N01\"]",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0].cities",
            "province-level",
        ],
    },
    Case {
        name: "scenario: scaled loss leaves the range",
        file: "example.toml",
        from: "param = \"gen_intensity\"\nprovinces = [\"North\"]\nscale = 0.7",
        to: "param = \"loss\"\nscale = 20.0",
        expect: &["example.toml:", "scenarios.cleaner_north", "physical range"],
    },
    Case {
        name: "scenario: a source intensity where no link has its own",
        file: "example.toml",
        from: "param = \"gen_intensity\"\nprovinces = [\"North\"]\nscale = 0.7",
        to: "param = \"link_intensity\"\nscale = 0.5",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north",
            "selects no link with a `link_intensity` of its own",
            "change `gen_intensity` instead",
        ],
    },
    Case {
        name: "scenario: unknown key",
        file: "example.toml",
        from: "scale = 0.7",
        to: "scale = 0.7\nfactor = 2",
        expect: &[
            "example.toml:",
            "scenarios.cleaner_north.changes[0].factor",
            "unknown key",
        ],
    },
    Case {
        name: "sensitivity group of an unknown parameter",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[sensitivity.groups]\ngrid = [\"loss\", \"gen_intensty\"]\n"
        ),
        expect: &[
            "example.toml:",
            "sensitivity.groups.grid",
            "unknown parameter `gen_intensty`",
            "gen_intensity",
        ],
    },
    Case {
        name: "parameter in two sensitivity groups",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[sensitivity.groups]\ngrid = [\"loss\"]\nlines = [\"loss\", \"link_intensity\"]\n"
        ),
        expect: &["sensitivity.groups.lines", "already in group `grid`"],
    },
    Case {
        name: "empty sensitivity group",
        file: "example.toml",
        from: end_str!(),
        to: concat!(end_str!(), "\n[sensitivity.groups]\ngrid = []\n"),
        expect: &["sensitivity.groups.grid", "at least one parameter"],
    },
    Case {
        name: "sensitivity group named after another parameter",
        file: "example.toml",
        from: end_str!(),
        to: concat!(
            end_str!(),
            "\n[sensitivity.groups]\nloss = [\"gen_intensity\"]\n"
        ),
        expect: &["sensitivity.groups.loss", "name of the parameter `loss`"],
    },
    Case {
        name: "unknown key in [sensitivity]",
        file: "example.toml",
        from: end_str!(),
        to: concat!(end_str!(), "\n[sensitivity]\ngroup = 3\n"),
        expect: &["example.toml:", "sensitivity.group", "groups"],
    },
];

#[test]
fn every_bad_input_exits_2_with_a_located_message() {
    assert!(CASES.len() >= 20);
    let mut failures = Vec::new();
    for case in CASES {
        let dir = example_copy();
        edit(dir.path(), case.file, case.from, case.to);
        let out = evcarbon(dir.path(), &["validate", "example.toml"]);
        let (_, stderr) = text(&out);
        let missing: Vec<_> = case
            .expect
            .iter()
            .filter(|e| !stderr.contains(*e))
            .collect();
        if out.status.code() != Some(2) || !missing.is_empty() || stderr.contains("panicked") {
            failures.push(format!(
                "{}: status {:?}, missing {missing:?} in:\n{stderr}",
                case.name,
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let dir = example_copy();
    edit(dir.path(), "example.toml", "draws = 100_000", "draws = 0");
    edit(dir.path(), "example.toml", "sd = 0.02", "sd = -0.02");
    edit(dir.path(), "example/cities.csv", "300000", "lots");
    let out = evcarbon(dir.path(), &["validate", "example.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    for expected in [
        "3 problems found",
        "run.draws",
        "params.gasoline_kgco2_per_l",
        "city_id `C02`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }
}

#[test]
fn empty_table_is_an_error() {
    let dir = example_copy();
    write(
        dir.path(),
        "example/links.csv",
        "from,to,delivered_min_twh\n",
    );
    let out = evcarbon(dir.path(), &["validate", "example.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("links.csv") && stderr.contains("no data rows"),
        "{stderr}"
    );
}

#[test]
fn a_draw_outside_the_physical_range_stops_the_run_with_status_2() {
    let dir = example_copy();
    // An unbounded lognormal loss is accepted but a draw above 1 stops the run.
    edit(
        dir.path(),
        "example.toml",
        "dist = \"pert\"\nmin = { column = \"loss_min\" }\nmode = { column = \"loss_mode\" }\nmax = { column = \"loss_max\" }\nshape = 4.0",
        "dist = \"lognormal\"\nmedian = 0.3\ngsd = 3.0",
    );
    let out = evcarbon(
        dir.path(),
        &["run", "example.toml", "--draws", "5000", "--out", "o"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("parameter `loss`") && stderr.contains("min`/`max"),
        "{stderr}"
    );
    assert!(!dir.path().join("o").join("manifest.json").exists());
}

#[test]
fn bad_arguments_exit_2() {
    let dir = example_copy();
    for args in [
        vec!["run", "example.toml", "--draws", "0"],
        vec!["run", "example.toml", "--threads", "0"],
        vec!["run", "example.toml", "--sampler", "quasi"],
        vec!["run", "example.toml", "--draws", "ten"],
        vec!["frobnicate"],
        vec!["validate", "no-such-config.toml"],
    ] {
        let out = evcarbon(dir.path(), &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_draw_that_overflows_to_infinity_stops_the_run_with_status_2() {
    let dir = example_copy();
    // exp(400·z) overflows for z > 1.78: a lognormal's support is (0, ∞) but its draws
    // can still be infinite in floating point.
    edit(
        dir.path(),
        "example.toml",
        "dist = \"normal\"\nmean = { column = \"bev_stock\" }\ncv = 0.10\nmin = 0.0",
        "dist = \"lognormal\"\nmu = 0.0\nsigma = 400.0",
    );
    let out = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "2000",
            "--out",
            "o",
            "--quiet",
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("parameter `ev_stock`") && stderr.contains("inf"),
        "{stderr}"
    );
}

#[test]
fn finite_inputs_whose_outputs_overflow_stop_the_run_with_status_2() {
    let dir = example_copy();
    // 1e300 cars × 64·1e300 km overflow f64: found by hand while hardening; it
    // used to panic in the statistics (debug) or write NaN-fed results (release).
    edit(
        dir.path(),
        "example.toml",
        "dist = \"normal\"\nmean = { column = \"bev_stock\" }\ncv = 0.10\nmin = 0.0",
        "dist = \"fixed\"\nvalue = 1e300",
    );
    edit(
        dir.path(),
        "example.toml",
        "shape = 64.0\nscale = { column = \"vkt_scale_km\" }",
        "shape = 64.0\nscale = 1e300",
    );
    let out = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "2000",
            "--out",
            "o",
            "--quiet",
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not finite") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(!dir.path().join("o").join("manifest.json").exists());
}

#[test]
fn a_missing_config_is_named_once_with_what_would_work() {
    let dir = example_copy();
    let out = evcarbon(dir.path(), &["run", "nothere.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nothere.toml") && stderr.contains("evcarbon init"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "said once: {stderr}"
    );
    assert!(!stderr.contains("caused by"), "{stderr}");
}

#[test]
fn draws_are_read_as_the_config_writes_them_and_few_draws_warn() {
    let dir = example_copy();
    for (draws, out) in [("2e3", "a"), ("2_000", "b")] {
        let run = evcarbon(
            dir.path(),
            &[
                "run",
                "example.toml",
                "--draws",
                draws,
                "--out",
                out,
                "--quiet",
            ],
        );
        assert!(run.status.success(), "{draws}: {}", text(&run).1);
    }
    let a = std::fs::read(dir.path().join("a/headline_intervals.parquet")).unwrap();
    assert!(a == std::fs::read(dir.path().join("b/headline_intervals.parquet")).unwrap());
    let few = evcarbon(
        dir.path(),
        &["run", "example.toml", "--draws", "50", "--out", "c"],
    );
    assert!(few.status.success());
    assert!(
        text(&few).1.contains("warning: 50 draws are too few"),
        "{}",
        text(&few).1
    );
    let stderr = text(&evcarbon(
        dir.path(),
        &["run", "example.toml", "--draws", "2.5"],
    ))
    .1;
    assert!(stderr.contains("not a whole number of draws"), "{stderr}");
}

/// `evcarbon validate` on the example after `edits` (file, from, to): its stderr,
/// after checking exit status 2.
fn validate_after(edits: &[(&str, &str, &str)]) -> String {
    let dir = example_copy();
    for (file, from, to) in edits {
        edit(dir.path(), file, from, to);
    }
    let out = evcarbon(dir.path(), &["validate", "example.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

#[test]
fn one_problem_does_not_hide_another_and_typos_get_a_suggestion() {
    // A column typo no longer hides a scenario's unknown province, which names the
    // valid ones and the nearest.
    let stderr = validate_after(&[
        (
            "example.toml",
            "mean = { column = \"consumption_twh\" }",
            "mean = { column = \"consumptin_twh\" }",
        ),
        (
            "example.toml",
            "provinces = [\"North\"]",
            "provinces = [\"Nort\"]",
        ),
    ]);
    for expect in [
        "2 problems",
        "column `consumptin_twh`",
        "did you mean `consumption_twh`?",
        "`Nort` is not in the data; did you mean `North`?; valid: Coast, North, West",
    ] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
    // A province typo in cities.csv no longer hides a non-numeric cell.
    let stderr = validate_after(&[
        ("example/cities.csv", ",Coast,tier1,", ",Coastt,tier1,"),
        ("example/cities.csv", ",300000,", ",lots,"),
    ]);
    for expect in ["did you mean `Coast`?", "`lots` is not a finite number"] {
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    }
    // A misspelt key names the nearest valid one.
    let stderr = validate_after(&[("example.toml", "seed = 20261128", "sed = 20261128")]);
    assert!(
        stderr.contains("unknown key `sed`; did you mean `seed`?"),
        "{stderr}"
    );
}

#[test]
fn a_bad_toml_value_is_reported_once_at_its_line() {
    for (from, to, expect) in [
        (
            "cv = 0.03",
            "cv = \"0.03\"",
            "expected a number, got a string",
        ),
        (
            "shape = 64",
            "shape = -1",
            "(in every row of example/cities.csv)",
        ),
    ] {
        let stderr = validate_after(&[("example.toml", from, to)]);
        assert!(stderr.contains("1 problem found"), "{to}: {stderr}");
        assert!(stderr.contains("example.toml:"), "{to}: {stderr}");
        assert!(stderr.contains(expect), "{to}: {stderr}");
    }
}

#[test]
fn cities_consuming_more_than_their_province_are_warned_about() {
    let dir = example_copy();
    edit(
        dir.path(),
        "example/cities.csv",
        "C01,Metro,Coast,tier1,120,",
        "C01,Metro,Coast,tier1,400,",
    );
    let out = evcarbon(dir.path(), &["validate", "example.toml"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "a warning, not an error: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
    assert!(
        stderr.contains("warning:") && stderr.contains("province `Coast`: its cities consume 510"),
        "{stderr}"
    );
}

/// The output folder removed while a run samples: the write fails with the path
/// and the cause, exit status 1, and nothing that looks like a complete run.
#[test]
fn an_output_folder_removed_mid_run_is_a_clear_error() {
    let dir = example_copy();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_evcarbon"))
        .args([
            "run",
            "example.toml",
            "--draws",
            "400000",
            "--out",
            "gone",
            "--quiet",
        ])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let folder = dir.path().join("gone");
    let started = std::time::Instant::now();
    while !folder.is_dir() {
        assert!(
            started.elapsed().as_secs() < 60,
            "the run never created its folder"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::remove_dir_all(&folder).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // The run finished before the folder went; nothing to check on this machine.
        say_skipped("the run finished before its output folder was removed");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("gone"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "the cause once: {stderr}"
    );
    assert!(!folder.join("manifest.json").exists());
}

/// A full disk while the tables are written: exit status 1 with the file and the
/// cause, no temporary file left, and no manifest (so nothing looks complete). The
/// disk is a 40 KB tmpfs, which needs root; elsewhere the test says it skipped.
#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_complete() {
    let dir = example_copy();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=40k", "tmpfs"])
        .arg(&disk)
        .output();
    if !mounted.is_ok_and(|o| o.status.success()) {
        say_skipped("cannot mount a small tmpfs here (needs root): the full-disk case was not run");
        return;
    }
    let out = evcarbon(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "2000",
            "--out",
            "disk/out",
            "--quiet",
        ],
    );
    let listing: Vec<String> = std::fs::read_dir(disk.join("out"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let _ = std::process::Command::new("umount").arg(&disk).status();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("No space left"),
        "{stderr}"
    );
    assert!(!listing.iter().any(|f| f == "manifest.json"), "{listing:?}");
    assert!(
        !listing.iter().any(|f| f.contains("partial")),
        "{listing:?}"
    );
}

#[test]
fn an_output_path_that_is_a_file_is_refused_before_sampling() {
    let dir = example_copy();
    let stderr = refused(
        dir.path(),
        &[
            "run",
            "example.toml",
            "--draws",
            "2000",
            "--out",
            "example.toml",
        ],
    );
    assert!(
        stderr.contains("example.toml exists and is not a folder"),
        "{stderr}"
    );
}

/// A parameter that fails does not make the default's scenarios, which change the
/// intensities of lines and cities that have one of their own, look as if they
/// selected none: which entities have an intensity of their own is not known yet.
#[test]
fn a_failing_parameter_does_not_make_scenarios_select_nothing() {
    let dir = tempfile::tempdir().unwrap();
    succeeds(dir.path(), &["init", "start"]);
    let start = dir.path().join("start");
    edit(
        &start,
        "china-285.toml",
        "dist = \"lognormal\"\nmean = { column = \"consumption_twh\" }\ncv = { column = \"consumption_cv\" }",
        "dist = \"normal\"\nmean = { column = \"consumption_twh\" }\ncv = { column = \"consumption_cv\" }\nmin = 0.0",
    );
    let message = refused(&start, &["validate", "china-285.toml"]);
    assert!(message.contains("leaves the physical range"), "{message}");
    assert!(!message.contains("selects no"), "{message}");
}
