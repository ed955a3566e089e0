//! Password-based key derivation: argon2id with bounded parameters.

use super::keys::SecretKey;
use argon2::{Algorithm, Argon2, Params, Version};

/// argon2id cost parameters as stored in a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (argon2 `m`), within `M_COST_MIN..=M_COST_MAX`.
    pub m_cost: u32,
    /// Iterations (argon2 `t`), within `1..=T_COST_MAX`.
    pub t_cost: u32,
    /// Lanes (argon2 `p`), within `1..=P_COST_MAX`.
    pub p_cost: u32,
}

/// Least memory accepted, in KiB (8 MiB).
pub const M_COST_MIN: u32 = 8 * 1024;
/// Most memory accepted, in KiB (512 MiB): bounds what a hostile key file can make us allocate.
pub const M_COST_MAX: u32 = 512 * 1024;
/// Most iterations accepted.
pub const T_COST_MAX: u32 = 16;
/// Most lanes accepted.
pub const P_COST_MAX: u32 = 16;

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            m_cost: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

/// Why a key could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    /// The memory cost is outside the accepted range.
    #[error("argon2 memory {0} KiB outside {M_COST_MIN}..={M_COST_MAX}")]
    Memory(u32),
    /// The iteration count is outside the accepted range.
    #[error("argon2 iterations {0} outside 1..={T_COST_MAX}")]
    Iterations(u32),
    /// The lane count is outside the accepted range.
    #[error("argon2 lanes {0} outside 1..={P_COST_MAX}")]
    Lanes(u32),
    /// argon2 refused the parameters.
    #[error("argon2 parameters: {0}")]
    Params(argon2::Error),
    /// argon2 failed to derive.
    #[error("argon2: {0}")]
    Derive(argon2::Error),
}

impl KdfParams {
    /// Refuses parameters outside the bounds in docs/design.md.
    pub fn check(&self) -> Result<(), KdfError> {
        if !(M_COST_MIN..=M_COST_MAX).contains(&self.m_cost) {
            return Err(KdfError::Memory(self.m_cost));
        }
        if !(1..=T_COST_MAX).contains(&self.t_cost) {
            return Err(KdfError::Iterations(self.t_cost));
        }
        if !(1..=P_COST_MAX).contains(&self.p_cost) {
            return Err(KdfError::Lanes(self.p_cost));
        }
        Ok(())
    }

    /// Derives the 32-byte password key.
    pub fn derive(&self, password: &[u8], salt: &[u8; 32]) -> Result<SecretKey, KdfError> {
        self.check()?;
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(KdfError::Params)?;
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Derived straight into the key's own storage: no copy of it is left on the stack.
        let mut key = SecretKey::zeroed();
        a.hash_password_into(password, salt, &mut key.0)
            .map_err(KdfError::Derive)?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced() {
        let mut p = KdfParams::default();
        assert!(p.check().is_ok());
        p.m_cost = 4 << 20;
        assert!(p.check().is_err());
        p = KdfParams {
            t_cost: 0,
            ..Default::default()
        };
        assert!(p.derive(b"pw", &[0; 32]).is_err());
    }

    #[test]
    fn derivation_is_deterministic() {
        let p = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let a = p.derive(b"pw", &[1; 32]).unwrap();
        let b = p.derive(b"pw", &[1; 32]).unwrap();
        let c = p.derive(b"pw2", &[1; 32]).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }
}
