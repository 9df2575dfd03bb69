-- An integration's secret kept sealed (ChaCha20-Poly1305 under the
-- instance key) beside its hash, so that admins can see its address again
-- with the settings to paste; integrations made before have none until
-- their address is replaced.
ALTER TABLE support_integrations ADD COLUMN secret_sealed TEXT;
