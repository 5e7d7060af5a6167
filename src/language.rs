//! Language detection for articles that do not declare one.
//!
//! lingua is used because, of the detectors checked, it was the only one that
//! told every Danish sample from Norwegian Bokmål. Its models are compiled in
//! only for the languages dossier ships (see Cargo.toml features); the dossier's
//! config narrows the choice further, which also makes detection faster.

use std::str::FromStr;

use lingua::{IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder};

/// Languages whose models are compiled into this binary.
pub const SUPPORTED: &[&str] = &["da", "nb", "nn", "sv", "de", "en"];

/// Enough text to decide; more only costs time on long articles.
const SAMPLE_CHARS: usize = 1500;

pub struct Detector {
    inner: Option<LanguageDetector>,
    only: Option<String>,
}

impl Detector {
    /// `codes`: ISO 639-1 codes from the config. Unsupported codes are returned
    /// so the caller can warn about them.
    pub fn new(codes: &[String]) -> (Detector, Vec<String>) {
        let mut languages = Vec::new();
        let mut unsupported = Vec::new();
        for code in codes {
            match IsoCode639_1::from_str(code) {
                Ok(iso) if SUPPORTED.contains(&code.as_str()) => {
                    languages.push(Language::from_iso_code_639_1(&iso))
                }
                _ => unsupported.push(code.clone()),
            }
        }
        languages.sort();
        languages.dedup();
        let detector = match languages.len() {
            0 => Detector {
                inner: None,
                only: None,
            },
            1 => Detector {
                inner: None,
                only: Some(languages[0].iso_code_639_1().to_string()),
            },
            _ => Detector {
                inner: Some(LanguageDetectorBuilder::from_languages(&languages).build()),
                only: None,
            },
        };
        (detector, unsupported)
    }

    /// ISO 639-1 code of the text's language, or None when it cannot tell.
    pub fn detect(&self, text: &str) -> Option<String> {
        if let Some(only) = &self.only {
            return Some(only.clone());
        }
        let detector = self.inner.as_ref()?;
        let sample: String = text.chars().take(SAMPLE_CHARS).collect();
        detector
            .detect_language_of(sample)
            .map(|l| l.iso_code_639_1().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> Detector {
        Detector::new(&["da", "nb", "sv", "de", "en"].map(String::from)).0
    }

    #[test]
    fn tells_the_seed_languages_apart() {
        let d = detector();
        let da = "Hviderusland, der er blandt få lande i Europa, som Rusland kan regne med som en allieret, har købt missilsystemer af typerne Iskander og S-400 fra Rusland. Han oplyser ikke noget om antallet af missilsystemer, der er indkøbt.";
        let nb = "Russland vil i løpet av de neste månedene levere raketter som kan utstyres med atomstridshoder, til nabolandet Belarus, ifølge president Vladimir Putin. Løftet ble avgitt da Putin tok imot Belarus' leder i St. Petersburg lørdag.";
        let sv = "Ryska kärnvapen ska placeras i Belarus och Aleksandr Lukasjenko uppmanar nu fler länder att ansluta sig till deras union. Det kommer att finnas kärnvapen för alla, säger presidenten.";
        let de = "Der russische Präsident Wladimir Putin sagte seinem belarussischen Amtskollegen am Samstag, Moskau werde Minsk mit Raketensystemen versorgen.";
        assert_eq!(d.detect(da).as_deref(), Some("da"));
        assert_eq!(d.detect(nb).as_deref(), Some("nb"));
        assert_eq!(d.detect(sv).as_deref(), Some("sv"));
        assert_eq!(d.detect(de).as_deref(), Some("de"));
    }

    #[test]
    fn reports_unsupported_codes() {
        let (_, unsupported) = Detector::new(&["da".into(), "xx".into(), "fr".into()]);
        assert_eq!(unsupported, vec!["xx".to_string(), "fr".to_string()]);
    }

    #[test]
    fn one_language_needs_no_model() {
        let (d, _) = Detector::new(&["de".into()]);
        assert_eq!(d.detect("anything").as_deref(), Some("de"));
    }
}
