//! `[accounting]`: the gasoline car's basis and the advanced tiers, and the
//! accounting a scenario may change.

use evcarbon_model::IceBasis;

use super::diagnostics::{Diagnostics, SourceText};
use super::toml_read::Section;

/// The ice basis (if valid) and the advanced tiers (empty if invalid or absent).
pub(super) type Accounting = (Option<IceBasis>, Vec<(String, usize)>);

/// Reads `[accounting]`.
pub(super) fn read_accounting(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> Accounting {
    let Some(acc) = root.table(src, diags, "accounting") else {
        if root.get("accounting").is_none() {
            root.missing(
                src,
                diags,
                "accounting",
                "add [accounting] with ice_basis and advanced_tiers",
            );
        }
        return (None, Vec::new());
    };
    acc.reject_unknown(src, diags, &["ice_basis", "advanced_tiers"]);
    let basis = read_ice_basis(src, diags, &acc);
    if acc.get("ice_basis").is_none() {
        acc.missing(src, diags, "ice_basis", "choose \"ttw\" or \"wtw\"");
    }
    let tiers = acc.strings(src, diags, "advanced_tiers");
    if acc.get("advanced_tiers").is_none() {
        acc.missing(
            src,
            diags,
            "advanced_tiers",
            "list the tiers counted as advanced, e.g. [\"tier1\"] (or [] for none)",
        );
    }
    (basis, tiers.unwrap_or_default())
}

/// `ice_basis` of an accounting table (`None` when absent or invalid: reported).
pub(super) fn read_ice_basis(
    src: &SourceText,
    diags: &mut Diagnostics,
    table: &Section<'_, '_>,
) -> Option<IceBasis> {
    match table.string(src, diags, "ice_basis")? {
        (b, _) if b == "wtw" => Some(IceBasis::Wtw),
        (b, _) if b == "ttw" => Some(IceBasis::Ttw),
        (b, at) => {
            diags.at_offset(
                src,
                at,
                table.key_path("ice_basis"),
                format!("unknown basis `{b}`; valid: ttw (tank to wheel), wtw (well to wheel)"),
            );
            None
        }
    }
}
