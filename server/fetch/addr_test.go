package fetch

import (
	"net/netip"
	"testing"
)

func TestIsPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		ip     string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"::1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"2002:7f00:1::", false},
		// IPv6 forms that embed or reach private or local IPv4 addresses.
		{"::ffff:169.254.169.254", false},               // mapped cloud metadata
		{"::ffff:100.64.0.1", false},                    // mapped CGNAT
		{"::ffff:8.8.8.8", true},                        // mapped public: dialled as 8.8.8.8
		{"::7f00:1", false},                             // IPv4-compatible 127.0.0.1 (deprecated ::/96)
		{"::a00:1", false},                              // IPv4-compatible 10.0.0.1
		{"::ffff:0:7f00:1", false},                      // IPv4-translated (SIIT) 127.0.0.1
		{"64:ff9b::808:808", false},                     // NAT64 of a public address: the gateway is refused as a whole
		{"64:ff9b:1::a00:1", false},                     // local-use NAT64
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"2002:808:808::1", false},                      // 6to4, even of a public address
		// IPv6 unique local, link-local, site-local and multicast.
		{"fc00::1", false},
		{"fd00:ec2::254", false}, // AWS IPv6 instance metadata
		{"fe80::1%eth0", false},
		{"febf::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		// Reserved and documentation blocks.
		{"::", false},
		{"100::1", false},
		{"2001:db8::1", false},
		{"3fff::1", false},
		{"4000::1", false}, // outside 2000::/3: not allocated for unicast
		{"192.88.99.1", false},
		{"198.18.0.1", false},
		{"255.255.255.255", false},
		{"2a00:1450:4001:80b::200e", true},
		{"1.1.1.1", true},
	} {
		if got := IsPublicAddr(mustAddr(t, tc.ip)); got != tc.public {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", tc.ip, got, tc.public)
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
