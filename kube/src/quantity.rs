//! Kubernetes resource quantities (`resource.Quantity` of apimachinery): parsing,
//! exact arithmetic and canonical printing.
//!
//! A quantity is held as a signed count of nano-units in an `i128`. Kubernetes keeps
//! arbitrary-precision decimals but rounds every parsed value up to nano precision, so
//! nano-units lose nothing it keeps. The `i128` bounds magnitudes near 1.7e29 units, far
//! above any real resource; larger values are refused with an error, never wrapped.
//!
//! The format a quantity was written in (`BinarySI`, `DecimalSI`, `DecimalExponent`) is
//! not part of its value: `parse_with_format` returns it beside the value, and
//! `to_canonical_string` takes it back, so equal values compare equal whatever their text.

use std::fmt;
use std::str::FromStr;

/// Longest quantity text accepted, in characters (the grammar is ASCII, so bytes).
/// Kubernetes sets no limit, but a meaningful quantity (a 19-digit mantissa, 9 fraction
/// digits, a sign and a suffix) fits in about 32; the bound keeps parse work constant.
pub const QUANTITY_CHARS_MAX: usize = 64;

/// Nano-units in one unit: Kubernetes keeps nine decimal places and rounds the rest up.
const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;

/// Kubernetes caps `BinarySI` quantities at 2^63-1 units instead of failing them.
const BINARY_SI_NANOS_MAX: u128 = (i64::MAX as u128) * (NANOS_PER_UNIT as u128);

/// Below this magnitude Kubernetes prints a `BinarySI` quantity as `DecimalSI`, since a
/// binary suffix would need rounding.
const BINARY_SI_PRINT_NANOS_MIN: u128 = 1024 * (NANOS_PER_UNIT as u128);

/// The 32-bit limbs of a `u128`: a bigger intermediate value cannot be a valid quantity.
const U128_LIMBS: usize = 4;

/// Decimal SI suffixes and their powers of ten, as apimachinery's suffix table lists them.
const DECIMAL_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

/// Binary SI suffixes and their powers of two.
const BINARY_SUFFIXES: [(&str, u32); 6] = [
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

/// The letters the scanner accepts in a suffix before an optional signed exponent.
const SUFFIX_LETTERS: &[u8] = b"eEinumkKMGTP";

/// The regular expression apimachinery quotes when a quantity does not scan.
const QUANTITY_REGEX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// How a quantity is written: Kubernetes remembers it per value to print it back alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantityFormat {
    /// Powers of 1024: `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`.
    BinarySI,
    /// Powers of 1000: `n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E`.
    DecimalSI,
    /// A power of ten written `e<exponent>` or `E<exponent>`.
    DecimalExponent,
}

/// Why a quantity failed to parse.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuantityError {
    /// The text does not scan as number-then-suffix.
    FormatWrong,
    /// The number scans, but the suffix is neither SI nor a decimal exponent.
    Suffix,
    /// The text is longer than `QUANTITY_CHARS_MAX`.
    TooLong { chars: usize },
    /// The magnitude does not fit in `i128` nano-units (about 1.7e29 units).
    OutOfRange,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantityError::FormatWrong => write!(
                f,
                "quantities must match the regular expression '{QUANTITY_REGEX}'"
            ),
            QuantityError::Suffix => write!(f, "unable to parse quantity's suffix"),
            QuantityError::TooLong { chars } => write!(
                f,
                "quantity is {chars} characters long, more than the {QUANTITY_CHARS_MAX} allowed"
            ),
            QuantityError::OutOfRange => write!(
                f,
                "quantity is out of range: its magnitude must stay below 1.7e29 \
                 (i128 nano-units)"
            ),
        }
    }
}

impl std::error::Error for QuantityError {}

/// A resource quantity as an exact count of nano-units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity {
    nanos: i128,
}

impl Quantity {
    /// Parses a quantity as `resource.ParseQuantity` does, dropping its format.
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        parse_with_format(text).map(|(quantity, _)| quantity)
    }

    pub fn zero() -> Quantity {
        Quantity { nanos: 0 }
    }

    pub fn from_nanos(nanos: i128) -> Quantity {
        Quantity { nanos }
    }

    /// Milli-units to a quantity; saturates at the `i128` nano range, which no real
    /// resource approaches (see `checked_from_milli` to detect it).
    pub fn from_milli(milli: i128) -> Quantity {
        Quantity {
            nanos: milli.saturating_mul(NANOS_PER_MILLI),
        }
    }

    pub fn checked_from_milli(milli: i128) -> Option<Quantity> {
        milli
            .checked_mul(NANOS_PER_MILLI)
            .map(|nanos| Quantity { nanos })
    }

    /// Whole units to a quantity, or `None` beyond the `i128` nano range.
    pub fn checked_from_value(value: i128) -> Option<Quantity> {
        value
            .checked_mul(NANOS_PER_UNIT)
            .map(|nanos| Quantity { nanos })
    }

    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Milli-units, rounded away from zero as Kubernetes' `MilliValue` does.
    pub fn milli_value(&self) -> i128 {
        divide_away_from_zero(self.nanos, NANOS_PER_MILLI)
    }

    /// Whole units, rounded away from zero as Kubernetes' `Value` does.
    pub fn value(&self) -> i128 {
        divide_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        self.nanos
            .checked_add(other.nanos)
            .map(|nanos| Quantity { nanos })
    }

    pub fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        self.nanos
            .checked_sub(other.nanos)
            .map(|nanos| Quantity { nanos })
    }

    pub fn checked_neg(self) -> Option<Quantity> {
        self.nanos.checked_neg().map(|nanos| Quantity { nanos })
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The text Kubernetes prints for this value in `format`: no precision lost, no
    /// fraction digits, the largest suffix possible. Like Kubernetes, `BinarySI` falls back
    /// to `DecimalSI` below 1024 units or for fractions, and `DecimalSI` falls back to an
    /// exponent beyond `E` (upstream's fix for values above 10^18 losing their magnitude).
    /// Kubernetes echoes some already-canonical inputs verbatim (`+1`, `1E3`); this always
    /// prints the canonical spelling (`1`, `1e3`) of the same value.
    pub fn to_canonical_string(&self, format: QuantityFormat) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let body = match format {
            QuantityFormat::BinarySI => binary_body(magnitude)
                .unwrap_or_else(|| decimal_body(magnitude, QuantityFormat::DecimalSI)),
            QuantityFormat::DecimalSI | QuantityFormat::DecimalExponent => {
                decimal_body(magnitude, format)
            }
        };
        format!("{sign}{body}")
    }
}

/// Prints the `DecimalSI` canonical form.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string(QuantityFormat::DecimalSI))
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(text)
    }
}

/// Parses a quantity as `resource.ParseQuantity` does, returning the format it was
/// written in (`BinarySI` values strictly between -1 and 1 report `DecimalSI`, as there).
pub fn parse_with_format(text: &str) -> Result<(Quantity, QuantityFormat), QuantityError> {
    if text.len() > QUANTITY_CHARS_MAX {
        return Err(QuantityError::TooLong { chars: text.len() });
    }
    if text.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    let scanned = scan(text.as_bytes())?;
    let (scale, mut format) = interpret_suffix(scanned.suffix)?;
    let magnitude = match (
        nano_magnitude(scanned.integer, scanned.fraction, scale),
        scale,
    ) {
        // Kubernetes caps binary quantities rather than refusing them.
        (None, Scale::Binary(_)) => BINARY_SI_NANOS_MAX,
        (Some(nanos), Scale::Binary(_)) => nanos.min(BINARY_SI_NANOS_MAX),
        (Some(nanos), Scale::Decimal(_)) => nanos,
        (None, Scale::Decimal(_)) => return Err(QuantityError::OutOfRange),
    };
    if format == QuantityFormat::BinarySI && magnitude > 0 && magnitude < NANOS_PER_UNIT as u128 {
        format = QuantityFormat::DecimalSI;
    }
    let nanos = if scanned.negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    };
    let nanos = nanos.ok_or(QuantityError::OutOfRange)?;
    Ok((Quantity { nanos }, format))
}

/// A quantity's text split as apimachinery's `parseQuantityString` splits it.
struct Scanned<'a> {
    negative: bool,
    /// Integer digits without leading zeros; may be empty.
    integer: &'a [u8],
    /// Digits after the point; may be empty (`1.` and `.` are accepted upstream).
    fraction: &'a [u8],
    suffix: &'a [u8],
}

/// Splits sign, digits and suffix, refusing what `parseQuantityString` refuses.
fn scan(bytes: &[u8]) -> Result<Scanned<'_>, QuantityError> {
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos = 1;
            true
        }
        Some(b'+') => {
            pos = 1;
            false
        }
        _ => false,
    };
    while bytes.get(pos) == Some(&b'0') {
        pos += 1;
    }
    let integer_start = pos;
    pos = skip_digits(bytes, pos);
    let integer = bytes.get(integer_start..pos).unwrap_or_default();
    let mut fraction: &[u8] = &[];
    if bytes.get(pos) == Some(&b'.') {
        let fraction_start = pos + 1;
        pos = skip_digits(bytes, fraction_start);
        fraction = bytes.get(fraction_start..pos).unwrap_or_default();
    }
    let suffix_start = pos;
    while bytes.get(pos).is_some_and(|b| SUFFIX_LETTERS.contains(b)) {
        pos += 1;
    }
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    pos = skip_digits(bytes, pos);
    if pos != bytes.len() {
        return Err(QuantityError::FormatWrong);
    }
    let suffix = bytes.get(suffix_start..).unwrap_or_default();
    Ok(Scanned {
        negative,
        integer,
        fraction,
        suffix,
    })
}

fn skip_digits(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

/// What a suffix multiplies the number by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    /// Times ten to this power.
    Decimal(i64),
    /// Times two to this power.
    Binary(u32),
}

fn interpret_suffix(suffix: &[u8]) -> Result<(Scale, QuantityFormat), QuantityError> {
    if let Some((_, exponent)) = DECIMAL_SUFFIXES
        .iter()
        .find(|(name, _)| name.as_bytes() == suffix)
    {
        return Ok((
            Scale::Decimal(i64::from(*exponent)),
            QuantityFormat::DecimalSI,
        ));
    }
    if let Some((_, exponent)) = BINARY_SUFFIXES
        .iter()
        .find(|(name, _)| name.as_bytes() == suffix)
    {
        return Ok((Scale::Binary(*exponent), QuantityFormat::BinarySI));
    }
    match suffix.split_first() {
        Some((b'e' | b'E', exponent)) if !exponent.is_empty() => parse_exponent(exponent)
            .map(|exponent| (Scale::Decimal(exponent), QuantityFormat::DecimalExponent))
            .ok_or(QuantityError::Suffix),
        _ => Err(QuantityError::Suffix),
    }
}

/// An optionally signed decimal `i64`, as Go's `strconv.ParseInt(s, 10, 64)` reads it.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(digit - b'0');
        // Accumulating negatively reaches i64::MIN, which a positive sum cannot.
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// The number's magnitude in nano-units, rounded up (away from zero) as Kubernetes rounds
/// so that asking for any amount of a resource never becomes asking for none. `None` when
/// it exceeds `u128`.
fn nano_magnitude(integer: &[u8], fraction: &[u8], scale: Scale) -> Option<u128> {
    let mut number = Natural::default();
    for &digit in integer.iter().chain(fraction) {
        number.mul_add_small(10, u32::from(digit.saturating_sub(b'0')));
    }
    if number.is_zero() {
        return Some(0);
    }
    let (binary_exponent, decimal_exponent) = match scale {
        Scale::Decimal(exponent) => (0, exponent),
        Scale::Binary(exponent) => (exponent, 0),
    };
    for _ in 0..binary_exponent / 10 {
        number.mul_add_small(1024, 0);
    }
    let fraction_digits = i64::try_from(fraction.len()).unwrap_or(i64::MAX);
    let nano_shift = decimal_exponent
        .saturating_sub(fraction_digits)
        .saturating_add(9);
    if nano_shift >= 0 {
        // A nonzero number outgrows u128 within about 40 steps, so this loop is short.
        for _ in 0..nano_shift {
            number.mul_add_small(10, 0);
            if number.limbs.len() > U128_LIMBS {
                return None;
            }
        }
        return number.to_u128();
    }
    let mut inexact = false;
    for _ in 0..nano_shift.unsigned_abs() {
        if number.is_zero() {
            break;
        }
        inexact |= number.div_small(10) != 0;
    }
    number.to_u128()?.checked_add(u128::from(inexact))
}

/// A small unsigned big integer (little-endian 32-bit limbs, no leading zero limbs): a
/// 64-digit mantissa times 2^60 needs about 270 bits, and no dependency is worth that.
#[derive(Default)]
struct Natural {
    limbs: Vec<u32>,
}

impl Natural {
    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// `self = self * factor + addend`.
    fn mul_add_small(&mut self, factor: u32, addend: u32) {
        let mut carry = u64::from(addend);
        for limb in &mut self.limbs {
            // (2^32-1)^2 + (2^32-1) < 2^64, so this cannot overflow.
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    /// `self = self / divisor`, returning the remainder; `divisor` must not be zero.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let divisor = u64::from(divisor.max(1));
        let mut remainder = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / divisor) as u32;
            remainder = current % divisor;
        }
        self.trim();
        remainder as u32
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn to_u128(&self) -> Option<u128> {
        if self.limbs.len() > U128_LIMBS {
            return None;
        }
        Some(
            self.limbs
                .iter()
                .rev()
                .fold(0u128, |value, &limb| (value << 32) | u128::from(limb)),
        )
    }
}

fn divide_away_from_zero(dividend: i128, divisor: i128) -> i128 {
    // The divisors are positive constants, so neither division can overflow.
    let quotient = dividend / divisor;
    match (dividend % divisor).signum() {
        0 => quotient,
        1 => quotient + 1,
        _ => quotient - 1,
    }
}

/// `BinarySI` text for a nonzero magnitude, or `None` where Kubernetes would print
/// `DecimalSI` instead (under 1024 units, or not whole units).
fn binary_body(magnitude: u128) -> Option<String> {
    let nanos_per_unit = NANOS_PER_UNIT as u128;
    if magnitude < BINARY_SI_PRINT_NANOS_MIN || !magnitude.is_multiple_of(nanos_per_unit) {
        return None;
    }
    let mut mantissa = magnitude / nanos_per_unit;
    let mut suffix = "";
    // The suffix table stops at Ei, so larger multiples keep a bigger mantissa.
    for (name, _) in BINARY_SUFFIXES {
        if !mantissa.is_multiple_of(1024) {
            break;
        }
        mantissa /= 1024;
        suffix = name;
    }
    Some(format!("{mantissa}{suffix}"))
}

/// Decimal text for a nonzero magnitude: trailing zeros move into the exponent, which is
/// then lowered to a multiple of three.
fn decimal_body(magnitude: u128, format: QuantityFormat) -> String {
    let mut mantissa = magnitude;
    let mut exponent: i32 = -9;
    while mantissa != 0 && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        exponent += 1;
    }
    // The exponent started at -9, a multiple of three, so this only restores zeros just
    // removed and cannot exceed the original magnitude.
    while exponent.rem_euclid(3) != 0 {
        mantissa *= 10;
        exponent -= 1;
    }
    let si_suffix = DECIMAL_SUFFIXES
        .iter()
        .find(|(_, power)| *power == exponent)
        .map(|(name, _)| *name);
    match si_suffix {
        Some(suffix) if format == QuantityFormat::DecimalSI => format!("{mantissa}{suffix}"),
        _ if exponent == 0 => mantissa.to_string(),
        _ => format!("{mantissa}e{exponent}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nanos(text: &str) -> i128 {
        Quantity::parse(text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .nanos()
    }

    fn canonical(text: &str) -> String {
        let (quantity, format) =
            parse_with_format(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        quantity.to_canonical_string(format)
    }

    const UNIT: i128 = NANOS_PER_UNIT;

    #[test]
    fn parses_decimal_si_suffixes() {
        assert_eq!(nanos("250m"), 250_000_000);
        assert_eq!(nanos("5n"), 5);
        assert_eq!(nanos("4u"), 4_000);
        assert_eq!(nanos("9"), 9 * UNIT);
        assert_eq!(nanos("8k"), 8_000 * UNIT);
        assert_eq!(nanos("100M"), 100_000_000 * UNIT);
        assert_eq!(nanos("6G"), 6_000_000_000 * UNIT);
        assert_eq!(nanos("5T"), 5_000_000_000_000 * UNIT);
        assert_eq!(nanos("2P"), 2_000_000_000_000_000 * UNIT);
        assert_eq!(nanos("12E"), 12_000_000_000_000_000_000 * UNIT);
    }

    #[test]
    fn parses_binary_si_suffixes() {
        assert_eq!(nanos("500Ki"), 500 * 1024 * UNIT);
        assert_eq!(nanos("1.5Gi"), 1_610_612_736 * UNIT);
        assert_eq!(nanos("7Mi"), 7 * (1 << 20) * UNIT);
        assert_eq!(nanos("5Ti"), 5 * (1 << 40) * UNIT);
        assert_eq!(nanos("4Pi"), 4 * (1 << 50) * UNIT);
        assert_eq!(nanos("3Ei"), 3 * (1 << 60) * UNIT);
        assert_eq!(nanos("100.035Ki"), 102_435_840_000_000);
        assert_eq!(nanos("0.5Mi"), 524_288 * UNIT);
    }

    #[test]
    fn parses_exponents_and_plain_numbers() {
        assert_eq!(nanos("1e3"), 1_000 * UNIT);
        assert_eq!(nanos("1E-3"), 1_000_000);
        assert_eq!(nanos("1.3E+6"), 1_300_000 * UNIT);
        assert_eq!(nanos("0.5e-2"), 5_000_000);
        assert_eq!(nanos("0.5"), UNIT / 2);
        assert_eq!(nanos("2"), 2 * UNIT);
        assert_eq!(nanos("-1"), -UNIT);
        assert_eq!(nanos("+1"), UNIT);
        assert_eq!(nanos("1e0"), UNIT);
    }

    #[test]
    fn accepts_what_apimachinery_tolerates() {
        assert_eq!(nanos("1."), UNIT);
        assert_eq!(nanos("1.G"), 1_000_000_000 * UNIT);
        assert_eq!(nanos(".001"), 1_000_000);
        assert_eq!(nanos(".0001k"), 100_000_000);
        assert_eq!(nanos("."), 0);
        assert_eq!(nanos("-."), 0);
        assert_eq!(nanos("+"), 0);
        assert_eq!(nanos("-"), 0);
        assert_eq!(nanos("000"), 0);
        assert_eq!(nanos("0Ki"), 0);
        assert_eq!(nanos("007"), 7 * UNIT);
    }

    #[test]
    fn rounds_sub_nano_values_away_from_zero() {
        assert_eq!(nanos("3.001n"), 4);
        assert_eq!(nanos("1.1E-9"), 2);
        assert_eq!(nanos("0.0000000001"), 1);
        assert_eq!(nanos("0.9n"), 1);
        assert_eq!(nanos("0.00000012345"), 124);
        assert_eq!(nanos("-0.9n"), -1);
        assert_eq!(nanos("0.000000000001Ki"), 2);
        assert_eq!(nanos("1e-99999"), 1);
        assert_eq!(nanos("-1e-9223372036854775808"), -1);
        assert_eq!(nanos("0e99999999"), 0);
    }

    #[test]
    fn caps_binary_si_at_max_int64_units() {
        let cap = i128::from(i64::MAX) * UNIT;
        assert_eq!(nanos("9Ei"), cap);
        assert_eq!(nanos("9223372036854775807Ki"), cap);
        assert_eq!(nanos("-16Ei"), -cap);
        assert_eq!(nanos("99999999999999999999999999999999999999999999Ei"), cap);
        assert_eq!(nanos("8Ei"), cap);
        assert_eq!(nanos("7Ei"), 7 * (1 << 60) * UNIT);
    }

    #[test]
    fn refuses_decimal_values_beyond_i128() {
        assert_eq!(Quantity::parse("1e30"), Err(QuantityError::OutOfRange));
        assert_eq!(
            Quantity::parse("1e9999999999"),
            Err(QuantityError::OutOfRange)
        );
        assert_eq!(
            Quantity::parse("-9999999999999999999999999999999999E"),
            Err(QuantityError::OutOfRange)
        );
        assert_eq!(
            nanos("1e29"),
            100_000_000_000_000_000_000_000_000_000 * UNIT
        );
        assert!(QuantityError::OutOfRange
            .to_string()
            .contains("out of range"));
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "", "1.1.M", "1+1.0M", "aoeu", " 1", "1 ", "1Ki ", "1..", "1 e3", "1é",
        ] {
            assert_eq!(
                Quantity::parse(text),
                Err(QuantityError::FormatWrong),
                "{text:?}"
            );
        }
        for text in [
            "0.1mi", ".5i", "1i", "-3.01i", "1K", "1ki", "1e", "1ee3", "1m3", "1-3", "--1",
        ] {
            assert_eq!(
                Quantity::parse(text),
                Err(QuantityError::Suffix),
                "{text:?}"
            );
        }
        assert_eq!(
            Quantity::parse("-3.01e-"),
            Err(QuantityError::Suffix),
            "an exponent needs digits"
        );
        assert_eq!(
            Quantity::parse("1e99999999999999999999"),
            Err(QuantityError::Suffix),
            "an exponent beyond i64 fails like Go's ParseInt"
        );
    }

    #[test]
    fn error_messages_match_apimachinery() {
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
    }

    #[test]
    fn bounds_input_length() {
        let long = "1".repeat(QUANTITY_CHARS_MAX + 1);
        assert_eq!(
            Quantity::parse(&long),
            Err(QuantityError::TooLong {
                chars: QUANTITY_CHARS_MAX + 1
            })
        );
        let longest = format!("0.{}", "0".repeat(QUANTITY_CHARS_MAX - 3));
        assert_eq!(longest.len(), QUANTITY_CHARS_MAX - 1);
        assert_eq!(nanos(&longest), 0);
    }

    #[test]
    fn reports_the_format_written() {
        let format = |text: &str| parse_with_format(text).map(|(_, format)| format);
        assert_eq!(format("1Ki"), Ok(QuantityFormat::BinarySI));
        assert_eq!(format("1k"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("1"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("0"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("1E"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("1e3"), Ok(QuantityFormat::DecimalExponent));
        assert_eq!(format("1E3"), Ok(QuantityFormat::DecimalExponent));
        // Fractions of a unit written in binary report DecimalSI, as upstream.
        assert_eq!(format("0.000000000001Ki"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("-0.0001Ki"), Ok(QuantityFormat::DecimalSI));
        assert_eq!(format("0.001Ki"), Ok(QuantityFormat::BinarySI));
        assert_eq!(format("0Ki"), Ok(QuantityFormat::BinarySI));
    }

    #[test]
    fn prints_canonical_forms_like_kubernetes() {
        let cases = [
            ("1500m", "1500m"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            ("1Ki", "1Ki"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
            ("300Mi", "300Mi"),
            ("307200Ki", "300Mi"),
            ("1025024Mi", "1001Gi"),
            ("5000m", "5"),
            ("0.5", "500m"),
            ("0.001T", "1G"),
            ("1000u", "1m"),
            ("1.08", "1080m"),
            ("1080000000n", "1080m"),
            (".001e12", "1e9"),
            ("0.001e0", "1e-3"),
            ("1000e-12", "1e-9"),
            ("80e-3", "80e-3"),
            ("300e6", "300e6"),
            ("1E3", "1e3"),
            ("+1", "1"),
            ("00", "0"),
            ("-0", "0"),
            ("0Ki", "0"),
            ("1025", "1025"),
            ("12E", "12E"),
            ("1000E", "1e21"),
            ("-1.5Gi", "-1536Mi"),
            ("-100m", "-100m"),
            ("1023", "1023"),
            ("1023Ki", "1023Ki"),
            ("1024Ei", "9223372036854775807"),
            ("8Ei", "9223372036854775807"),
            ("7Ei", "7Ei"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(input), expected, "{input}");
        }
    }

    #[test]
    fn prints_any_format_on_request() {
        let q = Quantity::parse("1.5Gi").unwrap_or_default();
        assert_eq!(q.to_canonical_string(QuantityFormat::BinarySI), "1536Mi");
        assert_eq!(
            q.to_canonical_string(QuantityFormat::DecimalSI),
            "1610612736"
        );
        assert_eq!(
            q.to_canonical_string(QuantityFormat::DecimalExponent),
            "1610612736"
        );
        let milli = Quantity::from_milli(1024 * 1024);
        assert_eq!(
            milli.to_canonical_string(QuantityFormat::BinarySI),
            "1048576m"
        );
        let k = Quantity::from_milli(1_000_000);
        assert_eq!(
            k.to_canonical_string(QuantityFormat::DecimalExponent),
            "1e3"
        );
        assert_eq!(k.to_string(), "1k");
        let big = Quantity::checked_from_value(1 << 70).unwrap_or_default();
        assert_eq!(big.to_canonical_string(QuantityFormat::BinarySI), "1024Ei");
        let odd = Quantity::from_nanos(1 << 100);
        assert_eq!(
            odd.to_canonical_string(QuantityFormat::BinarySI),
            "1267650600228229401496703205376n"
        );
        let min = Quantity::from_nanos(i128::MIN);
        let min_text = min.to_canonical_string(QuantityFormat::DecimalSI);
        assert_eq!(min_text, "-170141183460469231731687303715884105728n");
        assert_eq!(Quantity::parse(&min_text), Ok(min));
        assert_eq!(
            Quantity::parse("170141183460469231731687303715884105728n"),
            Err(QuantityError::OutOfRange)
        );
    }

    #[test]
    fn milli_value_and_value_round_away_from_zero() {
        let q = |text: &str| Quantity::parse(text).unwrap_or_default();
        assert_eq!(q("250m").milli_value(), 250);
        assert_eq!(q("250m").value(), 1);
        assert_eq!(q("1").milli_value(), 1000);
        assert_eq!(q("1").value(), 1);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("-1n").milli_value(), -1);
        assert_eq!(q("-9.01").value(), -10);
        assert_eq!(q("9.01").value(), 10);
        assert_eq!(q("0").value(), 0);
        assert_eq!(q("1Gi").value(), 1 << 30);
        assert_eq!(
            Quantity::from_nanos(i128::MIN).value(),
            i128::MIN / UNIT - 1
        );
        assert_eq!(
            Quantity::from_nanos(i128::MAX).milli_value(),
            i128::MAX / 1_000_000 + 1
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Quantity::from_milli(1500);
        let b = Quantity::parse("500m").unwrap_or_default();
        assert_eq!(a.checked_add(b), Some(Quantity::from_milli(2000)));
        assert_eq!(b.checked_sub(a), Some(Quantity::from_milli(-1000)));
        assert!(b.checked_sub(a).is_some_and(|q| q.is_negative()));
        assert_eq!(Quantity::from_nanos(i128::MAX).checked_add(b), None);
        assert_eq!(Quantity::from_nanos(i128::MIN).checked_sub(b), None);
        assert_eq!(Quantity::from_nanos(i128::MIN).checked_neg(), None);
        assert_eq!(Quantity::from_milli(i128::MAX).nanos(), i128::MAX);
        assert_eq!(Quantity::checked_from_milli(i128::MAX), None);
        assert_eq!(
            Quantity::checked_from_value(3),
            Some(Quantity::from_milli(3000))
        );
        assert!(Quantity::zero().is_zero());
        assert!(Quantity::from_milli(-1) < Quantity::zero());
        assert_eq!(Quantity::parse("1Ki"), Quantity::parse("1024"));
        assert_eq!("2".parse::<Quantity>(), Ok(Quantity::from_milli(2000)));
    }

    fn any_format() -> impl Strategy<Value = QuantityFormat> {
        prop_oneof![
            Just(QuantityFormat::BinarySI),
            Just(QuantityFormat::DecimalSI),
            Just(QuantityFormat::DecimalExponent),
        ]
    }

    fn any_nanos() -> impl Strategy<Value = i128> {
        prop_oneof![
            any::<i128>(),
            any::<i64>().prop_map(i128::from),
            (any::<i32>(), 0u32..29).prop_map(|(m, e)| i128::from(m) * 10i128.pow(e)),
            (any::<i16>(), 0u32..7).prop_map(|(m, e)| i128::from(m) * UNIT * (1i128 << (10 * e))),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_with_format(&text);
        }

        #[test]
        fn quantity_alphabet_never_panics(text in "[-+0-9.eEinumkKMGTP]{0,70}") {
            if let Ok((quantity, format)) = parse_with_format(&text) {
                let _ = quantity.to_canonical_string(format);
            }
        }

        #[test]
        fn canonical_text_parses_back(nanos in any_nanos(), format in any_format()) {
            let quantity = Quantity::from_nanos(nanos);
            let capped = format == QuantityFormat::BinarySI
                && nanos.unsigned_abs() > BINARY_SI_NANOS_MAX;
            let text = quantity.to_canonical_string(format);
            prop_assert!(text.len() <= QUANTITY_CHARS_MAX, "{}", text);
            let (parsed, parsed_format) = parse_with_format(&text)
                .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            if !capped {
                prop_assert_eq!(parsed, quantity, "{}", text);
                // Canonical text is a fixed point, except that whole BinarySI values with
                // no 1024 factor print without a suffix and so read back as DecimalSI.
                let reprinted = parsed.to_canonical_string(parsed_format);
                if format != QuantityFormat::BinarySI {
                    prop_assert_eq!(&reprinted, &text);
                }
                let reparsed = parse_with_format(&reprinted)
                    .map(|(q, f)| q.to_canonical_string(f));
                prop_assert_eq!(reparsed, Ok(reprinted));
            }
        }

        #[test]
        fn integer_milli_and_binary_texts_are_exact(n in any::<i64>(), k in 0u32..5) {
            prop_assert_eq!(nanos(&n.to_string()), i128::from(n) * UNIT);
            prop_assert_eq!(nanos(&format!("{n}m")), i128::from(n) * 1_000_000);
            prop_assert_eq!(nanos(&format!("{n}n")), i128::from(n));
            let small = n % (1 << 12);
            let suffix = ["Ki", "Mi", "Gi", "Ti", "Pi"][k as usize];
            prop_assert_eq!(
                nanos(&format!("{small}{suffix}")),
                i128::from(small) * (1i128 << (10 * (k + 1))) * UNIT
            );
        }

        #[test]
        fn fractions_round_up_to_the_nano(whole in 0u32..1000, digits in "[0-9]{0,20}") {
            let text = format!("{whole}.{digits}");
            let padded = format!("{digits:0<9}");
            let (kept, dropped) = padded.split_at(9);
            let kept: i128 = kept.parse().unwrap_or_default();
            let round_up = i128::from(dropped.bytes().any(|b| b != b'0'));
            prop_assert_eq!(nanos(&text), i128::from(whole) * UNIT + kept + round_up);
        }

        #[test]
        fn ordering_matches_nanos(a in any_nanos(), b in any_nanos()) {
            prop_assert_eq!(
                Quantity::from_nanos(a).cmp(&Quantity::from_nanos(b)),
                a.cmp(&b)
            );
        }
    }
}
