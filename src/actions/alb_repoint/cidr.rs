//! CIDR blocks and IP containment, for deciding whether a target IP is inside the VPC.

use std::net::IpAddr;

/// An IPv4 or IPv6 network: the address with its host bits cleared, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x:y::z/n`. Host bits set in the address are ignored,
    /// as ELBv2 and EC2 do for a VPC's CIDR block.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a CIDR block: expected an address, '/', and a prefix length, as in 10.1.0.0/20"))?;
        let address: IpAddr = address.parse().map_err(|_| format!("'{address}' in CIDR block '{text}' is not an IP address"))?;
        let max_prefix = if address.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|prefix| *prefix <= max_prefix)
            .ok_or_else(|| format!("prefix length '{prefix}' in CIDR block '{text}' is not a number from 0 to {max_prefix}"))?;
        Ok(Cidr { network: mask(address, prefix), prefix })
    }

    /// Whether `ip` lies in this network. An IPv4 address is never inside an
    /// IPv6 network and the other way round.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

/// Clears every bit of `ip` after the first `prefix` bits.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 { 0 } else { bits & (u32::MAX << (32 - u32::from(prefix))) };
            IpAddr::V4(kept.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 { 0 } else { bits & (u128::MAX << (128 - u32::from(prefix))) };
            IpAddr::V6(kept.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_containment() {
        let vpc = Cidr::parse("10.1.0.0/20").unwrap();
        assert!(vpc.contains(ip("10.1.0.0")));
        assert!(vpc.contains(ip("10.1.15.255")));
        assert!(!vpc.contains(ip("10.1.16.0")));
        assert!(!vpc.contains(ip("192.168.1.10")));
    }

    #[test]
    fn ipv6_containment() {
        let vpc = Cidr::parse("2a05:d01c:abc:de00::/56").unwrap();
        assert!(vpc.contains(ip("2a05:d01c:abc:de42::1")));
        assert!(!vpc.contains(ip("2a05:d01c:abc:df00::1")));
    }

    #[test]
    fn families_never_mix() {
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("10.0.0.1")));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
    }

    #[test]
    fn zero_and_full_prefixes() {
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        let host = Cidr::parse("10.1.2.50/32").unwrap();
        assert!(host.contains(ip("10.1.2.50")));
        assert!(!host.contains(ip("10.1.2.51")));
    }

    #[test]
    fn host_bits_are_ignored() {
        assert_eq!(Cidr::parse("10.1.3.7/20").unwrap(), Cidr::parse("10.1.0.0/20").unwrap());
    }

    #[test]
    fn invalid_blocks_are_rejected() {
        assert!(Cidr::parse("10.1.0.0").unwrap_err().contains("not a CIDR block"));
        assert!(Cidr::parse("10.1.0/20").unwrap_err().contains("not an IP address"));
        assert!(Cidr::parse("10.1.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(Cidr::parse("::/129").unwrap_err().contains("0 to 128"));
    }
}
