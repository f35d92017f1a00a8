//! Following a redirect: where it leads, which method and body go along, and which request
//! headers may not cross to another origin. The one place these rules live.

use std::borrow::Cow;
use url::Url;

/// Request headers that carry credentials: never sent to an origin other than the one the
/// check named (as curl drops Authorization and Cookie on a redirect to another host). The
/// API-key headers are the ones providers use instead of Authorization.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
];

/// Scheme, host and port: a redirect that changes any of them leaves the origin.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The check's headers as they may be sent to `next`: all of them on the check's own origin,
/// without the credential headers anywhere else.
pub fn headers_for<'a>(
    checked: &Url,
    next: &Url,
    headers: &'a [(String, String)],
) -> Cow<'a, [(String, String)]> {
    if same_origin(checked, next) {
        return Cow::Borrowed(headers);
    }
    Cow::Owned(
        headers
            .iter()
            .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
            .cloned()
            .collect(),
    )
}

/// The method after a redirect with `status`: as browsers and curl do, 303, and 301/302 after
/// anything but GET/HEAD, become a GET without a body.
pub fn method_after(status: u16, method: &http::Method) -> Option<http::Method> {
    let becomes_get = status == 303
        || (matches!(status, 301 | 302) && !matches!(*method, http::Method::GET | http::Method::HEAD));
    becomes_get.then_some(http::Method::GET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_on_the_checked_origin() {
        let checked = Url::parse("https://api.test/login").unwrap();
        let headers = vec![
            ("authorization".to_owned(), "Bearer k".to_owned()),
            ("cookie".to_owned(), "s=1".to_owned()),
            ("x-api-key".to_owned(), "k".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        let same = Url::parse("https://API.test:443/next").unwrap();
        assert_eq!(headers_for(&checked, &same, &headers).len(), 4);
        for other in ["http://api.test/", "https://api.test:8443/", "https://cdn.test/"] {
            let kept = headers_for(&checked, &Url::parse(other).unwrap(), &headers);
            assert_eq!(
                kept.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                ["accept"],
                "{other}"
            );
        }
    }

    #[test]
    fn see_other_and_post_redirects_become_get() {
        assert_eq!(method_after(303, &http::Method::PUT), Some(http::Method::GET));
        assert_eq!(method_after(302, &http::Method::POST), Some(http::Method::GET));
        assert_eq!(method_after(302, &http::Method::HEAD), None);
        assert_eq!(method_after(307, &http::Method::POST), None);
    }
}
