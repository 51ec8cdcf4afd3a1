//! Accounting choices that are not parameters.

/// Which gasoline emissions the EV is compared against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IceBasis {
    /// Tank to wheel: combustion only.
    Ttw,
    /// Well to wheel: combustion plus the well-to-tank uplift.
    Wtw,
}

impl IceBasis {
    /// Name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            IceBasis::Ttw => "ttw",
            IceBasis::Wtw => "wtw",
        }
    }
}
