//! Which entities of a parameter share one random variate.

use evcarbon_model::Entity;

/// Which entities share one underlying random variate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One variate per draw, shared by every entity.
    Global,
    /// One variate per province, shared by the province's cities.
    Province,
    /// One variate per entity of the parameter's own kind (independent entities).
    Own,
}

impl Scope {
    /// Parses a config `scope` for a parameter with one value per `entity`; `None`
    /// if it is unknown or finer than the entity.
    pub fn for_entity(name: &str, entity: Entity) -> Option<Scope> {
        match (name, entity) {
            ("global", _) => Some(Scope::Global),
            ("province", Entity::Province) => Some(Scope::Own),
            ("province", Entity::City) => Some(Scope::Province),
            ("city", Entity::City) | ("link", Entity::Link) => Some(Scope::Own),
            _ => None,
        }
    }

    /// The scope names a parameter with one value per `entity` accepts.
    pub fn names_for(entity: Entity) -> &'static [&'static str] {
        match entity {
            Entity::Province => &["global", "province"],
            Entity::Link => &["global", "link"],
            Entity::City => &["global", "province", "city"],
        }
    }

    /// The config name of this scope for a parameter with one value per `entity`.
    pub fn name(self, entity: Entity) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Province => "province",
            Scope::Own => entity.name(),
        }
    }
}
