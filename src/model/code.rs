//! Administrative codes: street office (9 digits), community (12), grid (15).
//!
//! The layout follows Beijing DB11/T 2157-2023: 6-digit county (GB/T 2260) + 3 street +
//! 3 community + 3 grid sequence. Any digits are accepted in each part; the GB/T 10114
//! ranges are deliberately not enforced because real statistical codes break them.

use std::fmt;

use super::ModelError;

macro_rules! digit_code {
    ($(#[$doc:meta])* $name:ident, $len:expr, $label:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Number of digits.
            pub const LEN: usize = $len;

            /// Parses exactly `LEN` ASCII digits.
            pub fn parse(text: &str, field: &str) -> Result<Self, ModelError> {
                if text.len() == $len && text.bytes().all(|b| b.is_ascii_digit()) {
                    Ok($name(text.to_owned()))
                } else {
                    Err(ModelError::new(
                        field,
                        "invalid_code",
                        format!("a {} code is exactly {} digits, got {:?}", $label, $len, text),
                    ))
                }
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digit_code!(
    /// A street office (街道) code: 6-digit county + 3 digits.
    ///
    /// ```
    /// use gridcircle::model::StreetOfficeCode;
    /// assert!(StreetOfficeCode::parse("320104001", "code").is_ok());
    /// assert!(StreetOfficeCode::parse("32010400", "code").is_err());
    /// ```
    StreetOfficeCode, 9, "street office"
);
digit_code!(
    /// A community (社区) code: the street office code + 3 digits.
    ///
    /// ```
    /// use gridcircle::model::{CommunityCode, StreetOfficeCode};
    /// let c = CommunityCode::parse("320104001002", "code").unwrap();
    /// assert_eq!(c.street_office(), StreetOfficeCode::parse("320104001", "code").unwrap());
    /// ```
    CommunityCode, 12, "community"
);
digit_code!(
    /// A grid (单元网格) code: the community code + a 3-digit sequence.
    ///
    /// ```
    /// use gridcircle::model::GridCode;
    /// let g = GridCode::parse("320104001002007", "code").unwrap();
    /// assert_eq!(g.sequence(), 7);
    /// assert_eq!(g.community().as_str(), "320104001002");
    /// ```
    GridCode, 15, "grid"
);

impl CommunityCode {
    /// The street office part (first 9 digits).
    pub fn street_office(&self) -> StreetOfficeCode {
        StreetOfficeCode(self.0[..9].to_owned())
    }
}

impl GridCode {
    /// The community part (first 12 digits).
    pub fn community(&self) -> CommunityCode {
        CommunityCode(self.0[..12].to_owned())
    }

    /// The grid sequence number inside its community (last 3 digits).
    pub fn sequence(&self) -> u16 {
        self.0[12..].parse().expect("validated digits")
    }

    /// The code of sequence `seq` (1..=999) in `community`.
    pub fn in_community(community: &CommunityCode, seq: u16) -> Result<Self, ModelError> {
        if !(1..=999).contains(&seq) {
            return Err(ModelError::new(
                "code",
                "invalid_code",
                "grid sequence must be 1..=999",
            ));
        }
        Ok(GridCode(format!("{}{:03}", community.0, seq)))
    }
}
