// Package sitelogtest makes site-log fixtures for tests and the interop
// script: a database holding a site log under a software P-256 key, and
// bundles whose entries it logs, built with bundle.Builder and package
// tlog exactly as signing with the site log builds them. It is not for
// production use: the log key is a software key.
package sitelogtest

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/airlock-project/airlock/bundle"
	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/tlog"
)

// Site is an open database with a site log.
type Site struct {
	DB     *cache.DB
	Log    *tlog.Log
	LogKey crypto.Signer
}

// Create creates (or opens) the database at path and starts a site log
// in it named origin, signed by logKey, created at now.
func Create(ctx context.Context, path, origin string, logKey crypto.Signer, now time.Time) (*Site, error) {
	db, err := cache.Open(path, cache.Options{})
	if err != nil {
		return nil, err
	}
	l, err := tlog.Create(ctx, &cache.SiteLog{DB: db}, tlog.Config{Origin: origin}, logKey, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Site{DB: db, Log: l, LogKey: logKey}, nil
}

// Close closes the database.
func (s *Site) Close() error { return s.DB.Close() }

// Logged is a signature, its bundle with the log entry, and the entry.
type Logged struct {
	*bundle.Signed
	Body  []byte
	Entry *protorekor.TransparencyLogEntry
}

// SignDigest signs digest with b and logs the hashedrekord entry at now.
func (s *Site) SignDigest(ctx context.Context, b *bundle.Builder, digest []byte, now time.Time) (*Logged, error) {
	sd, err := b.SignDigest(digest)
	if err != nil {
		return nil, err
	}
	body, err := tlog.HashedRekordBody(sd.Signature, b.Hash(), digest, tlog.Verifier{PublicKey: b.PublicKey(), Certificate: b.Certificate()})
	if err != nil {
		return nil, err
	}
	return s.log(ctx, sd, body, now)
}

// SignDSSE signs an in-toto statement with b and logs the dsse entry at now.
func (s *Site) SignDSSE(ctx context.Context, b *bundle.Builder, payloadType string, payload []byte, now time.Time) (*Logged, error) {
	sd, err := b.SignDSSE(payloadType, payload)
	if err != nil {
		return nil, err
	}
	body, err := tlog.DSSEBody(sd.Envelope, payload, []tlog.DSSESignature{{Sig: sd.Signature, Verifier: tlog.Verifier{PublicKey: b.PublicKey(), Certificate: b.Certificate()}}})
	if err != nil {
		return nil, err
	}
	return s.log(ctx, sd, body, now)
}

func (s *Site) log(ctx context.Context, sd *bundle.Signed, body []byte, now time.Time) (*Logged, error) {
	batch, err := s.Log.Prepare(ctx, [][]byte{body}, now, s.LogKey)
	if err != nil {
		return nil, err
	}
	if err := s.Log.Append(ctx, batch); err != nil {
		return nil, err
	}
	tle, err := batch.TransparencyLogEntry(0)
	if err != nil {
		return nil, err
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(sd.Bundle, &pb); err != nil {
		return nil, err
	}
	pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	out, err := MarshalBundle(&pb)
	if err != nil {
		return nil, err
	}
	signed := *sd
	signed.Bundle = out
	return &Logged{Signed: &signed, Body: body, Entry: tle}, nil
}

// MarshalBundle is a bundle's JSON in one stable form.
func MarshalBundle(pb *protobundle.Bundle) ([]byte, error) {
	out, err := protojson.Marshal(pb)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("bundle JSON: %w", err)
	}
	return json.Marshal(v)
}
