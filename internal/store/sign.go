package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/ssh"
	"oras.land/oras-go/v2/content"
)

// Signatures are SSH signatures (the SSHSIG format of ssh-keygen -Y sign,
// which git's SSH signing uses too) by ed25519 keys, over the text
// signedText gives: the artifact's key and manifest digest. The manifest
// digest covers the record and the binary's digest; the key ties the
// signature to the request it answers. Each is stored as an annotation
// of a referrer manifest of the artifact, so that several builders may
// sign one artifact.
const (
	SignatureType       = "application/vnd.selfcompile.signature.v1"
	signatureAnnotation = "dev.selfcompile.sshsig"
	namespace           = "go-selfcompile-store"
	maxSignatures       = 16
)

// signedText is what a signature signs.
func signedText(key string, manifest ocispec.Descriptor) []byte {
	return []byte("go-selfcompile store artifact v1\nkey " + key + "\nmanifest " + manifest.Digest.String() + "\n")
}

// LoadSigner reads an unencrypted ed25519 private key in OpenSSH format
// (ssh-keygen -t ed25519 -N "") or PKCS#8 PEM from the file name.
func LoadSigner(name string) (ssh.Signer, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("signing key %s is encrypted: give an unencrypted key file readable only by this user", name)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %v", name, err)
	}
	if s.PublicKey().Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("signing key %s is %s: give an ed25519 key (ssh-keygen -t ed25519)", name, s.PublicKey().Type())
	}
	return s, nil
}

// ParseTrusted parses public keys in authorized_keys format ("ssh-ed25519
// AAAA... comment"), one an entry.
func ParseTrusted(keys []string) ([]ssh.PublicKey, error) {
	var out []ssh.PublicKey
	for _, k := range keys {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			return nil, fmt.Errorf("trusted key %q: %v: give a line such as ssh-ed25519 AAAA... name", clip(k), err)
		}
		if pk.Type() != ssh.KeyAlgoED25519 {
			return nil, fmt.Errorf("trusted key %q is %s: only ed25519 keys are accepted", clip(k), pk.Type())
		}
		out = append(out, pk)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// sshsig is the SSHSIG blob and the data it signs (PROTOCOL.sshsig).
type sshsig struct {
	Magic     [6]byte
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

type sshsigSigned struct {
	Magic     [6]byte
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

var magic = [6]byte{'S', 'S', 'H', 'S', 'I', 'G'}

func toBeSigned(msg []byte) []byte {
	h := sha512.Sum512(msg)
	return ssh.Marshal(sshsigSigned{Magic: magic, Namespace: namespace, HashAlg: "sha512", Hash: h[:]})
}

// Sign signs the artifact tagged key with signer, pushing the signature
// as a referrer of manifest.
func (s *Store) Sign(ctx context.Context, signer ssh.Signer, key string, manifest ocispec.Descriptor) error {
	sig, err := signer.Sign(rand.Reader, toBeSigned(signedText(key, manifest)))
	if err != nil {
		return err
	}
	blob := ssh.Marshal(sshsig{Magic: magic, Version: 1, PublicKey: signer.PublicKey().Marshal(), Namespace: namespace, HashAlg: "sha512", Signature: ssh.Marshal(sig)})
	armored := "-----BEGIN SSH SIGNATURE-----\n" + wrap(b64(blob)) + "-----END SSH SIGNATURE-----\n"
	empty := ocispec.DescriptorEmptyJSON
	if err := s.pushBlob(ctx, empty, bytes.NewReader(empty.Data)); err != nil {
		return err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: SignatureType, Config: empty, Layers: []ocispec.Descriptor{empty},
		Subject:     &ocispec.Descriptor{MediaType: manifest.MediaType, Digest: manifest.Digest, Size: manifest.Size},
		Annotations: map[string]string{signatureAnnotation: armored, "dev.selfcompile.signer": ssh.FingerprintSHA256(signer.PublicKey())},
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, data)
	return s.repo.Push(ctx, desc, bytes.NewReader(data))
}

// Verify finds a signature of the artifact tagged key by one of trusted
// among the manifest's referrers, and returns the fingerprint of the key
// that signed it; an error says why none is good.
func (s *Store) Verify(ctx context.Context, trusted []ssh.PublicKey, key string, manifest ocispec.Descriptor) (string, error) {
	msg := toBeSigned(signedText(key, manifest))
	seen, bad := 0, 0
	var found string
	err := s.repo.Referrers(ctx, manifest, SignatureType, func(refs []ocispec.Descriptor) error {
		for _, r := range refs {
			if seen++; seen > maxSignatures || found != "" {
				return nil
			}
			if fp, ok := verifyOne(r.Annotations[signatureAnnotation], trusted, msg); ok {
				found = fp
			} else {
				bad++
			}
		}
		return nil
	})
	switch {
	case found != "":
		return found, nil
	case err != nil:
		return "", fmt.Errorf("listing its signatures: %w", err)
	case bad > 0:
		return "", fmt.Errorf("none of its %d signatures is by a trusted key over this artifact", bad)
	}
	return "", errors.New("it is not signed")
}

// verifyOne checks one armored SSH signature of msg by a trusted key.
func verifyOne(armored string, trusted []ssh.PublicKey, msg []byte) (string, bool) {
	body, ok := strings.CutPrefix(strings.TrimSpace(armored), "-----BEGIN SSH SIGNATURE-----")
	body, ok2 := strings.CutSuffix(body, "-----END SSH SIGNATURE-----")
	if !ok || !ok2 {
		return "", false
	}
	blob, err := unb64(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return "", false
	}
	var sig sshsig
	if ssh.Unmarshal(blob, &sig) != nil || sig.Magic != magic || sig.Version != 1 || sig.Namespace != namespace || sig.HashAlg != "sha512" {
		return "", false
	}
	var inner ssh.Signature
	if ssh.Unmarshal(sig.Signature, &inner) != nil {
		return "", false
	}
	for _, pk := range trusted {
		if bytes.Equal(pk.Marshal(), sig.PublicKey) && pk.Verify(msg, &inner) == nil {
			return ssh.FingerprintSHA256(pk), true
		}
	}
	return "", false
}
