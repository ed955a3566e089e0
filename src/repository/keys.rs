//! Key management: several passwords for one repository (`backstock key list|add|remove|passwd`).
