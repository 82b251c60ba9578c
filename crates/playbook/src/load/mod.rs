//! Loading and validating a playbook file.

mod decode;
