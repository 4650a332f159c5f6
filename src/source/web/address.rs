//! The private-address guard: `scan url` must not be usable against an
//! internal network, so every address a host name resolves to is checked
//! before ureq connects to exactly that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Why an address is not on the public internet, if it is not.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

/// An IPv4 address from two 16-bit segments.
fn v4_of(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// IPv6 forms that carry an IPv4 address are judged by that address: a
/// host, a relay or a translator on the way may deliver the packet to it.
fn non_public_v6(v6: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = v6.segments();
    if v6.is_loopback() {
        Some("loopback")
    } else if v6.is_unspecified() {
        Some("unspecified")
    } else if s[..6] == [0; 6] {
        // IPv4-compatible `::a.b.c.d` (deprecated; never a public host).
        Some("IPv4-compatible")
    } else if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        // SIIT IPv4-translated `::ffff:0:a.b.c.d`.
        non_public_v4(v4_of(s[6], s[7])).or(Some("IPv4-translated"))
    } else if s[0] == 0x2002 {
        // 6to4: the relay's IPv4 address follows the prefix.
        non_public_v4(v4_of(s[1], s[2]))
    } else if s[0] == 0x2001 && s[1] == 0 {
        // Teredo: the server's address follows the prefix, the client's is
        // the last 32 bits inverted.
        non_public_v4(v4_of(s[2], s[3])).or_else(|| non_public_v4(v4_of(!s[6], !s[7])))
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
        Some("link-local")
    } else if s[0] & 0xff00 == 0xff00 {
        Some("multicast")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation")
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // Local-use NAT64 (RFC 8215): translated inside a network.
        Some("private (local-use NAT64)")
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64: the embedded IPv4 address decides.
        non_public_v4(v4_of(s[6], s[7]))
    } else {
        None
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 0 || ip.is_broadcast() {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a >= 224 {
        Some("multicast or reserved")
    } else if (a, b, c) == (192, 0, 2) || (a, b, c) == (198, 51, 100) || (a, b, c) == (203, 0, 113)
    {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if (a, b, c) == (192, 0, 0) {
        Some("IETF protocol assignments")
    } else {
        None
    }
}

/// Resolves with the system resolver, then refuses non-public addresses.
/// ureq connects to exactly the addresses returned here.
#[derive(Debug)]
pub(super) struct GuardedResolver {
    pub(super) allow_private: bool,
    pub(super) inner: DefaultResolver,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = self.inner.resolve(uri, config, timeout)?;
        if !self.allow_private {
            if let Some((address, why)) = addresses
                .iter()
                .find_map(|a| non_public(a.ip()).map(|why| (a, why)))
            {
                return Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "refused: {} resolves to {} ({why} address); pass --allow-private-addresses to scan internal hosts",
                        uri.host().unwrap_or("?"),
                        address.ip()
                    ),
                )));
            }
        }
        Ok(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::",
            // IPv4-compatible, SIIT, 6to4, Teredo (server, then client
            // 127.0.0.1 inverted) forms of non-public IPv4 addresses.
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:0:7f00:1",
            "::ffff:0:a00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::1",
            "2001:0:7f00:1::1",
            "2001:0:808:808:0:0:80ff:fffe",
            "2001:0:a00:1:0:0:f7f7:f7f7",
            "64:ff9b:1::1",
        ] {
            assert!(non_public(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2002:808:808::1",
            "2001:0:808:808:0:0:f7f7:f7f7",
            "64:ff9b::808:808",
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
