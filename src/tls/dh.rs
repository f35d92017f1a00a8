//! Well-known finite-field Diffie-Hellman primes, recognised by their SHA-256: a server whose DHE
//! prime is one of these uses published, vetted parameters (and shares them with many others,
//! which matters for precomputation attacks on the small ones).
//!
//! The digests are of the prime's big-endian bytes without leading zeros. They were taken from
//! OpenSSL's built-in groups (`openssl genpkey -genparam -algorithm DH -pkeyopt group:NAME`) and,
//! for the two Oakley groups OpenSSL does not name, from RFC 2409's formula; the integration
//! tests check the OpenSSL ones against the installed `openssl` again.

/// (name, bits, SHA-256 of the prime).
const PRIMES: &[(&str, u32, &str)] = &[
    (
        "ffdhe2048",
        2048,
        "9cd3b7f336872f46c09428d1bbc19877a4d440512cda8d1c1cf0cd6e33698966",
    ),
    (
        "ffdhe3072",
        3072,
        "0eaf67db3a839156d5013494a5318a772b5697d270d721f37f092efc69ea5a17",
    ),
    (
        "ffdhe4096",
        4096,
        "4648414224ac881b3d0dc59b466f96d06a558278776807797ecf1f66ff397b3e",
    ),
    (
        "ffdhe6144",
        6144,
        "227ac9066b3ddd9e193670cda2388fa884f65ba0cf98b742d1fe77a6687c79c7",
    ),
    (
        "ffdhe8192",
        8192,
        "770b14efaf6f049929c523113b3fa99a8d11dab1b18af3609590122075d19833",
    ),
    (
        "modp_1536",
        1536,
        "64fcc83ec403930bf18393dbc883ccaa1fbb08ac876f77f7aa99748ca945019b",
    ),
    (
        "modp_2048",
        2048,
        "d66436f79bbd6b2e38c0ffbd079be904d2641415e2e67140e09448be9a60890e",
    ),
    (
        "modp_3072",
        3072,
        "48cf8b092fbce4359d9871abf74f98e25b6163379eaa15cd9087e800c6d1c55c",
    ),
    (
        "modp_4096",
        4096,
        "4ee95187682bcb230ad26a95205f6920e84708f6251b3894329b09ec23919e33",
    ),
    (
        "modp_6144",
        6144,
        "d1bfe6d0925ce7e4da262b62861514a7755e35831e429f343e7b864848657efd",
    ),
    (
        "modp_8192",
        8192,
        "39ab4feab950a3128fb71accb9fc3965d857012e081998a85996e3ea8b3c3bcf",
    ),
    (
        "dh_1024_160",
        1024,
        "44c55cfee5c075927cf682da5b681bdecbd5c3eb0784c14f5dce7610f0ef133d",
    ),
    (
        "dh_2048_224",
        2048,
        "bfe545862ca102ad1eeddb5fbfa5bf855ac4995c56a8b408ce3fe099dce93a9d",
    ),
    (
        "dh_2048_256",
        2048,
        "0b7835722cb619827610c2549fdda5587421686c4409a13865e76225522ddcc9",
    ),
    (
        "oakley_768",
        768,
        "b52ba6a3026520a6c49d37e4587601801bee500123b3259b6bf03e7cecc3e63d",
    ),
    (
        "oakley_1024",
        1024,
        "3f35a3f5f6c4376a744acad409bb22f8d897f949d2311d885adaa890981b67a0",
    ),
];

/// The name of a well-known prime (`ffdhe2048`, `modp_2048`, `oakley_1024`...), if it is one.
pub fn well_known(prime: &[u8]) -> Option<&'static str> {
    let prime = strip(prime);
    let digest = ring::digest::digest(&ring::digest::SHA256, prime);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    PRIMES
        .iter()
        .find(|(_, _, h)| *h == hex)
        .map(|(name, _, _)| *name)
}

/// The size of a prime in bits.
pub fn bits(prime: &[u8]) -> u32 {
    let prime = strip(prime);
    match prime.first() {
        None => 0,
        Some(first) => (prime.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
    }
}

fn strip(prime: &[u8]) -> &[u8] {
    let zeros = prime.iter().take_while(|b| **b == 0).count();
    &prime[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_significant_bits() {
        assert_eq!(bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits(&[0x01, 0x00]), 9);
        assert_eq!(bits(&[]), 0);
        assert_eq!(well_known(&[0xFF; 256]), None);
    }

    #[test]
    fn names_and_sizes_agree() {
        for (name, bits, hex) in PRIMES {
            assert_eq!(hex.len(), 64, "{name}");
            assert!(name.contains(&bits.to_string()), "{name} {bits}");
        }
    }
}
