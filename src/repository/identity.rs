//! Who and where: the host and user names recorded in key files, locks and snapshots.

/// This machine's host name; `unknown` when the system gives none that is UTF-8.
pub fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The user's name: `$USER` or `$LOGNAME` as the login set them, else the name of this process's
/// user ID in the system user database (through the C library, so NSS sources such as LDAP count
/// too); `unknown` when neither gives one.
pub fn username() -> String {
    if let Ok(u) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        return u;
    }
    uzers::get_current_username()
        .and_then(|n| n.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_a_user_name_in_the_database() {
        let uid = rustix::process::getuid().as_raw();
        let name = uzers::get_user_by_uid(uid).map(|u| u.name().to_os_string());
        assert_eq!(uzers::get_current_username(), name);
    }
}
