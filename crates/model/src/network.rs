//! The entities of the model: provinces, cities and directed links, with the indices
//! the attribution needs precomputed.

/// A kind of entity: what a parameter has one value per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    /// One value per province.
    Province,
    /// One value per directed inter-provincial link.
    Link,
    /// One value per city.
    City,
}

impl Entity {
    /// The name used in configs (`province`, `link`, `city`).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Province => "province",
            Entity::Link => "link",
            Entity::City => "city",
        }
    }
}

/// A province (the `province` column of provinces.csv is its id).
#[derive(Clone, Debug, PartialEq)]
pub struct Province {
    /// Identifier used by cities.csv and links.csv.
    pub id: String,
}

/// A city with its province and tier.
#[derive(Clone, Debug, PartialEq)]
pub struct City {
    /// `city_id` column (GB/T 2260 code in the default dataset).
    pub id: String,
    /// `city` column: the display name.
    pub name: String,
    /// Index of the city's province in [`Network::provinces`].
    pub province: usize,
    /// `tier` column.
    pub tier: String,
    /// Whether the tier is listed in `accounting.advanced_tiers`.
    pub advanced: bool,
}

/// A directed link `from → to`: electricity generated in `from`, delivered to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Index of the sending province.
    pub from: usize,
    /// Index of the receiving province.
    pub to: usize,
}

/// Provinces, cities and links, with adjacency lists built once.
///
/// Invariants (checked by [`Network::new`]): every index is in range, no link joins a
/// province to itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    provinces: Vec<Province>,
    cities: Vec<City>,
    links: Vec<Link>,
    cities_in: Vec<Vec<usize>>,
    links_into: Vec<Vec<usize>>,
    links_out_of: Vec<Vec<usize>>,
    own_intensity: OwnIntensities,
}

/// Which links and cities have a generation intensity of their own
/// (`link_intensity`, `city_gen_intensity`); the others take the `gen_intensity`
/// of the province behind them (the sending province, the city's province).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnIntensities {
    /// Per link, in table order.
    pub links: Vec<bool>,
    /// Per city, in table order.
    pub cities: Vec<bool>,
}

impl Network {
    /// Builds the network; panics only on broken invariants, which the config loader
    /// rules out before calling it.
    pub fn new(provinces: Vec<Province>, cities: Vec<City>, links: Vec<Link>) -> Network {
        let n = provinces.len();
        let mut cities_in = vec![Vec::new(); n];
        for (c, city) in cities.iter().enumerate() {
            cities_in[city.province].push(c);
        }
        let mut links_into = vec![Vec::new(); n];
        let mut links_out_of = vec![Vec::new(); n];
        for (l, link) in links.iter().enumerate() {
            assert!(link.from != link.to, "a link must join two provinces");
            links_into[link.to].push(l);
            links_out_of[link.from].push(l);
        }
        let own_intensity = OwnIntensities {
            links: vec![false; links.len()],
            cities: vec![false; cities.len()],
        };
        Network {
            provinces,
            cities,
            links,
            cities_in,
            links_into,
            links_out_of,
            own_intensity,
        }
    }

    /// The same network, with the links and cities that have a generation
    /// intensity of their own. Panics when a list's length is not the number of
    /// links or cities (the config loader builds them from the tables).
    pub fn with_own_intensities(mut self, own: OwnIntensities) -> Network {
        assert_eq!(own.links.len(), self.links.len(), "one flag per link");
        assert_eq!(own.cities.len(), self.cities.len(), "one flag per city");
        self.own_intensity = own;
        self
    }

    /// Which links and cities have a generation intensity of their own.
    #[inline]
    pub fn own_intensities(&self) -> &OwnIntensities {
        &self.own_intensity
    }

    /// Whether province `p` has generation of its own intensity: a city with its
    /// own `city_gen_intensity`, or a link out of it with its own `link_intensity`.
    pub fn has_own_sources(&self, p: usize) -> bool {
        self.cities_in[p]
            .iter()
            .any(|&c| self.own_intensity.cities[c])
            || self.links_out_of[p]
                .iter()
                .any(|&l| self.own_intensity.links[l])
    }

    /// All provinces, in table order.
    #[inline]
    pub fn provinces(&self) -> &[Province] {
        &self.provinces
    }

    /// All cities, in table order.
    #[inline]
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    /// All links, in table order.
    #[inline]
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Indices of the cities of province `p`.
    #[inline]
    pub fn cities_in(&self, p: usize) -> &[usize] {
        &self.cities_in[p]
    }

    /// Indices of the links delivering into province `p`.
    #[inline]
    pub fn links_into(&self, p: usize) -> &[usize] {
        &self.links_into[p]
    }

    /// Indices of the links sending out of province `p`.
    #[inline]
    pub fn links_out_of(&self, p: usize) -> &[usize] {
        &self.links_out_of[p]
    }

    /// Whether any city is in an advanced tier.
    pub fn has_advanced_cities(&self) -> bool {
        self.cities.iter().any(|c| c.advanced)
    }

    /// Number of entities of a kind.
    #[inline]
    pub fn count(&self, entity: Entity) -> usize {
        match entity {
            Entity::Province => self.provinces.len(),
            Entity::Link => self.links.len(),
            Entity::City => self.cities.len(),
        }
    }
}
