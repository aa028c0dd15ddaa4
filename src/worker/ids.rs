//! The ids the worker makes (a person's anonymous id, an offer's id, a prize
//! claim's key): random on a device, repeatable under `Config::id_seed` for
//! runs on virtual time (the simulator's output names them).

/// A new id: random (UUID v4), or with `Config::id_seed` derived from the
/// seed, the clock's time and `salt` (a UUID in form, its bits from
/// SplitMix64). The salt tells apart two ids made in one millisecond: the
/// anonymous id a reset replaces, the campaign and count of an offer.
pub(super) fn new(seed: Option<u64>, now_ms: i64, salt: &str) -> String {
    match seed {
        None => uuid::Uuid::new_v4().hyphenated().to_string(),
        Some(seed) => {
            // FNV-1a of the salt.
            let salt = salt.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            let mut state = seed ^ (now_ms as u64).rotate_left(32) ^ salt;
            let mut next = || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            let bits = (u128::from(next()) << 64) | u128::from(next());
            uuid::Builder::from_random_bytes(bits.to_be_bytes())
                .into_uuid()
                .hyphenated()
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new;

    #[test]
    fn a_seed_gives_the_same_ids_on_the_same_clock_and_new_ones_after() {
        let a = new(Some(7), 1_000, "");
        assert_eq!(a, new(Some(7), 1_000, ""));
        assert_ne!(a, new(Some(8), 1_000, ""));
        assert_ne!(a, new(Some(7), 1_001, ""));
        // Two resets in one millisecond: two people.
        assert_ne!(new(Some(7), 1_000, &a), a);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn without_a_seed_ids_are_random() {
        assert_ne!(new(None, 1_000, ""), new(None, 1_000, ""));
    }
}
