//! Where webhooks may be sent: public addresses only, unless the operator allows a network with
//! `--webhook-allow-networks`. Without this, anyone who may add an endpoint could make roster post to the cloud
//! metadata service, the database or an admin port on the host (server-side request forgery); GitLab guards its
//! webhooks the same way. Every address a webhook's host resolves to must pass, checked when connecting, so DNS
//! cannot swap a private address in after the check. The ranges follow the special-purpose registry (RFC 6890):
//!
//! | Range                             | Why it is refused                                                     |
//! |-----------------------------------|-----------------------------------------------------------------------|
//! | `0.0.0.0/8`                       | "this network"; `0.0.0.0` itself reaches the host (RFC 6890)          |
//! | `10/8`, `172.16/12`, `192.168/16` | private networks (RFC 1918)                                           |
//! | `100.64.0.0/10`                   | carrier-grade NAT: the provider's side of the network (RFC 6598)      |
//! | `127.0.0.0/8`, `::1`              | loopback: the host's own services (RFC 6890, RFC 4291)                |
//! | `169.254.0.0/16`                  | link-local, where clouds serve metadata at 169.254.169.254 (RFC 3927) |
//! | `192.0.0.0/24`                    | IETF protocol assignments (RFC 6890)                                  |
//! | `192.0.2/24`, `198.51.100/24`     | documentation (RFC 5737)                                              |
//! | `203.0.113/24`, `2001:db8::/32`   | documentation (RFC 5737, RFC 3849)                                    |
//! | `198.18.0.0/15`, `2001:2::/48`    | benchmarking, never on the internet (RFC 2544, RFC 5180)              |
//! | `224.0.0.0/4`, `ff00::/8`         | multicast (RFC 5771, RFC 4291)                                        |
//! | `240.0.0.0/4`                     | reserved (RFC 6890)                                                   |
//! | `255.255.255.255`                 | broadcast (RFC 6890)                                                  |
//! | `::`                              | unspecified (RFC 4291)                                                |
//! | `fe80::/10`                       | link-local (RFC 4291)                                                 |
//! | `fec0::/10`                       | site-local: deprecated, still routed by some stacks (RFC 3879)        |
//! | `fc00::/7`                        | unique local: IPv6's private networks (RFC 4193)                      |
//! | `100::/64`                        | discard-only (RFC 6666)                                               |
//! | `2001::/32`                       | Teredo: its IPv4 is obfuscated, so it cannot be judged (RFC 4380)     |
//! | `64:ff9b:1::/48`                  | local-use NAT64: translated inside the site (RFC 8215)                |
//! | outside `2000::/3`                | not allocated for global unicast (RFC 4291)                           |
//!
//! Addresses that carry an IPv4 address are judged by the IPv4 inside, since that is where the packet ends up:
//! IPv4-mapped `::ffff:a.b.c.d` and the deprecated IPv4-compatible `::a.b.c.d` (RFC 4291), 6to4 `2002:AABB:CCDD::/48`
//! (RFC 3056) and the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052).
use crate::{Error, Result};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// First match wins, so the single addresses come before the ranges that hold them.
const REFUSED_V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 32), "unspecified"),
    (v4(0, 0, 0, 0, 8), "this network"),
    (v4(10, 0, 0, 0, 8), "private network (RFC 1918)"),
    (v4(100, 64, 0, 0, 10), "carrier-grade NAT"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local"),
    (v4(172, 16, 0, 0, 12), "private network (RFC 1918)"),
    (v4(192, 0, 0, 0, 24), "reserved (IETF protocol assignments)"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 168, 0, 0, 16), "private network (RFC 1918)"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

/// Checked after the IPv4-carrying forms, which are judged by their IPv4.
const REFUSED_V6: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), "site-local"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique local (IPv6)"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (v6([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48), "benchmarking"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), "Teredo tunnel"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "local-use NAT64"),
];

/// Global unicast: everything outside it is unallocated or special.
const GLOBAL_V6: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// A bad prefix length fails the build here, not at run time.
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]), len)
}

/// Why an address is refused, in words for an admin; None for a public, routable address.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => REFUSED_V4.iter().find(|(net, _)| net.contains(&v4)).map(|(_, why)| *why),
        IpAddr::V6(v6) => {
            if let Some(inner) = embedded_ipv4(v6) {
                return classify(IpAddr::V4(inner));
            }
            if let Some((_, why)) = REFUSED_V6.iter().find(|(net, _)| net.contains(&v6)) {
                return Some(why);
            }
            (!GLOBAL_V6.contains(&v6)).then_some("reserved")
        }
    }
}

/// The IPv4 address an IPv6 address carries, where the packet really goes: IPv4-mapped, IPv4-compatible (but `::`
/// and `::1` are themselves), 6to4 and NAT64's well-known prefix.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    // The casts keep the low 32 bits: where each form puts its IPv4 after the shift.
    match ip.segments() {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0 | 0xffff, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(Ipv4Addr::from_bits(bits as u32)),
        [0x2002, ..] => Some(Ipv4Addr::from_bits((bits >> 80) as u32)),
        _ => None,
    }
}

/// The networks webhooks may reach besides public addresses (`--webhook-allow-networks`), for a receiver on the
/// same host or network.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    allow: Vec<IpNet>,
}

impl NetworkPolicy {
    /// Parses `CIDR[,CIDR…]`; a bare address is that one address. Empty items are skipped, so an empty list allows
    /// no network.
    pub fn parse(list: &str) -> Result<NetworkPolicy> {
        let allow = list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(parse_entry).collect::<Result<_>>()?;
        Ok(NetworkPolicy { allow })
    }

    /// Ok when the address is public, or it or the IPv4 it carries is in an allowed network; otherwise why not.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let inner = match ip {
            IpAddr::V6(v6) => embedded_ipv4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |ip: IpAddr| self.allow.iter().any(|net| net.contains(&ip));
        if allowed(ip) || inner.is_some_and(allowed) {
            return Ok(());
        }
        classify(ip).map_or(Ok(()), Err)
    }

    /// Whether any network is allowed, so the server can log that the guard is loosened.
    pub fn allows_any(&self) -> bool {
        !self.allow.is_empty()
    }

    /// The allowed networks, for the startup log.
    pub fn networks(&self) -> &[IpNet] {
        &self.allow
    }
}

fn parse_entry(entry: &str) -> Result<IpNet> {
    let parsed = match entry.split_once('/') {
        Some(_) => entry.parse::<IpNet>().ok(),
        None => entry.parse::<IpAddr>().ok().map(IpNet::from),
    };
    parsed.map(|net| net.trunc()).ok_or_else(|| {
        let hint = match entry.split_once('/') {
            Some((addr, len)) if addr.parse::<IpAddr>().is_ok() => {
                let max = if addr.contains(':') { 128 } else { 32 };
                format!("the prefix length '{len}' must be a number from 0 to {max}")
            }
            _ => "write an address (10.0.0.5, fd00::1) or a network in CIDR form (10.0.0.0/8, fd00::/8)".to_owned(),
        };
        Error::InvalidValue(format!("'{entry}' in the allowed webhook networks is not a network: {hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refused_ipv4() {
        for (addr, why) in [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("10.0.0.5", "private network (RFC 1918)"),
            ("10.255.255.255", "private network (RFC 1918)"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("169.254.0.1", "link-local"),
            ("172.16.0.1", "private network (RFC 1918)"),
            ("172.31.255.255", "private network (RFC 1918)"),
            ("192.0.0.8", "reserved (IETF protocol assignments)"),
            ("192.0.2.1", "documentation"),
            ("192.168.1.1", "private network (RFC 1918)"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.254", "reserved"),
            ("255.255.255.255", "broadcast"),
        ] {
            assert_eq!(classify(ip(addr)), Some(why), "{addr}");
        }
    }

    #[test]
    fn refused_ipv6() {
        for (addr, why) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("febf:ffff::1", "link-local"),
            ("fec0::1", "site-local"),
            ("fc00::1", "unique local (IPv6)"),
            ("fd12:3456::1", "unique local (IPv6)"),
            ("ff02::1", "multicast"),
            ("ff0e::101", "multicast"),
            ("2001:db8::1", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("100::1", "discard-only"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo tunnel"),
            ("64:ff9b:1::a00:5", "local-use NAT64"),
            ("64:ff9b:1::808:808", "local-use NAT64"),
            ("::1:0:0:1", "reserved"),
            ("4000::1", "reserved"),
        ] {
            assert_eq!(classify(ip(addr)), Some(why), "{addr}");
        }
    }

    /// The addresses of the security report, each a way to reach the metadata service or the host.
    #[test]
    fn refused_ipv4_inside_ipv6() {
        for (addr, why) in [
            ("::ffff:a9fe:a9fe", "link-local"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.5", "private network (RFC 1918)"),
            ("::ffff:0.0.0.0", "unspecified"),
            ("::7f00:1", "loopback"),
            ("::10.0.0.5", "private network (RFC 1918)"),
            ("::2", "this network"),
            ("2002:7f00:0001::1", "loopback"),
            ("2002:a9fe:a9fe::", "link-local"),
            ("2002:c0a8:0101:1::1", "private network (RFC 1918)"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("64:ff9b::10.0.0.5", "private network (RFC 1918)"),
            ("64:ff9b::127.0.0.1", "loopback"),
        ] {
            assert_eq!(classify(ip(addr)), Some(why), "{addr}");
        }
    }

    #[test]
    fn security_report() {
        let policy = NetworkPolicy::default();
        for addr in [
            "169.254.169.254",
            "10.0.0.5",
            "::ffff:a9fe:a9fe",
            "0.0.0.0",
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "::7f00:1",
            "2002:7f00:0001::1",
            "2002:a9fe:a9fe::",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.5",
        ] {
            assert!(policy.check(ip(addr)).is_err(), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let policy = NetworkPolicy::default();
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2002:5db8:d822::1",
            "64:ff9b::8.8.8.8",
            "::ffff:93.184.216.34",
            "2001:db9::1",
            "2001:1::1",
        ] {
            assert_eq!(classify(ip(addr)), None, "{addr}");
            assert_eq!(policy.check(ip(addr)), Ok(()), "{addr}");
        }
    }

    #[test]
    fn embedded_forms() {
        for (addr, inner) in [
            ("::ffff:a9fe:a9fe", Some("169.254.169.254")),
            ("::7f00:1", Some("127.0.0.1")),
            ("::", None),
            ("::1", None),
            ("2002:5db8:d822::1", Some("93.184.216.34")),
            ("64:ff9b::8.8.8.8", Some("8.8.8.8")),
            ("64:ff9b:1::8.8.8.8", None),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", None),
            ("2606:4700::1111", None),
        ] {
            let IpAddr::V6(v6) = ip(addr) else { panic!("{addr} is not IPv6") };
            assert_eq!(embedded_ipv4(v6).map(IpAddr::V4), inner.map(ip), "{addr}");
        }
    }

    #[test]
    fn allowed_networks() {
        let policy = NetworkPolicy::parse("127.0.0.0/8").unwrap();
        assert!(policy.allows_any());
        for (addr, allowed) in [
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("::ffff:127.0.0.1", true),
            ("::7f00:1", true),
            ("2002:7f00:1::1", true),
            ("64:ff9b::127.0.0.1", true),
            ("::1", false),
            ("10.0.0.1", false),
            ("169.254.169.254", false),
            ("93.184.216.34", true),
        ] {
            assert_eq!(policy.check(ip(addr)).is_ok(), allowed, "{addr}");
        }
        assert_eq!(policy.check(ip("::1")), Err("loopback"));
        assert_eq!(policy.check(ip("10.0.0.1")), Err("private network (RFC 1918)"));
    }

    #[test]
    fn parse_lists() {
        let policy = NetworkPolicy::parse(" 10.0.0.0/8 ,::1, 192.168.1.7/24,,fd00::5").unwrap();
        let nets: Vec<String> = policy.networks().iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128", "192.168.1.0/24", "fd00::5/128"]);
        for addr in ["10.1.2.3", "::1", "192.168.1.200", "fd00::5"] {
            assert_eq!(policy.check(ip(addr)), Ok(()), "{addr}");
        }
        for addr in ["192.168.2.1", "fd00::6", "127.0.0.1"] {
            assert!(policy.check(ip(addr)).is_err(), "{addr}");
        }
        for empty in ["", " ", ",", " , ,"] {
            assert!(matches!(NetworkPolicy::parse(empty), Ok(p) if !p.allows_any()), "{empty:?}");
        }
        assert!(!NetworkPolicy::default().allows_any());
    }

    #[test]
    fn parse_errors_name_the_entry() {
        for (list, bad, says) in [
            ("10.0.0.0/33", "'10.0.0.0/33'", "from 0 to 32"),
            ("::1/129", "'::1/129'", "from 0 to 128"),
            ("10.0.0.0/8,10.0.0.0/x", "'10.0.0.0/x'", "prefix length"),
            ("example.com", "'example.com'", "CIDR"),
            ("10.0.0.0/8, example.com/8", "'example.com/8'", "CIDR"),
            ("10.0.0", "'10.0.0'", "CIDR"),
        ] {
            match NetworkPolicy::parse(list) {
                Err(Error::InvalidValue(msg)) => {
                    assert!(msg.contains(bad) && msg.contains(says), "{list}: {msg}");
                }
                other => panic!("{list}: {other:?}"),
            }
        }
    }
}
