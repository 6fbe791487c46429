package forward_test

import (
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy/forward"
)

var _ = Describe("The metrics' series cache", func() {
	It("should ask the vector once per label set and give the same series after", func() {
		c := forward.NewSeriesCache()
		Expect(c.Get(7)).To(Equal(14))
		Expect(c.Get(7)).To(Equal(14))
		Expect(c.Get(8)).To(Equal(16))
		Expect(c.Calls()).To(BeEquivalentTo(2))
		Expect(c.Len()).To(Equal(2))
	})

	It("should stop growing at its bound and still answer past it", func() {
		c := forward.NewSeriesCache()
		n := forward.MaxCachedSeries + 10
		for k := range n {
			Expect(c.Get(k)).To(Equal(2 * k))
		}
		Expect(c.Len()).To(Equal(forward.MaxCachedSeries))
		Expect(c.Get(n - 1)).To(Equal(2 * (n - 1)))
		Expect(c.Calls()).To(BeEquivalentTo(n+1), "a label set past the bound goes to the vector each time")
		Expect(c.Get(0)).To(Equal(0))
		Expect(c.Calls()).To(BeEquivalentTo(n+1), "the cached ones do not")
	})

	It("should take lookups from many goroutines at once", func() {
		c := forward.NewSeriesCache()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				defer GinkgoRecover()
				for k := range 50 {
					Expect(c.Get((k + g) % 50)).To(Equal(2 * ((k + g) % 50)))
				}
			})
		}
		wg.Wait()
		Expect(c.Len()).To(Equal(50))
	})
})
