"""Stored cross-check table, written by ``python -m asyncbound.theory.crosscheck.generate``."""

STORED: dict = {'date': '2026-12-02',
 'grid_name': 'full',
 'grid': 'K in [2, 3, 5, 10, 20], tau in [0, 1, 2, 4], tau_k = min(tau, k) and every '
         'adversarial sequence for K <= 4, eta in [1.0, 0.5] x admissible max, L = 1',
 'software': 'pepit 0.5.1, cvxpy 1.9.3, clarabel 0.11.1',
 'bounds': {'classic_delayed_sgd/nonconvex': {'status': 'VALID',
                                              'worst_ratio': 1.0,
                                              'worst_at': 'K=3, tau=0, delays=[0, 0, 0] '
                                                          '(capped), eta=1 x max, '
                                                          'avg_grad_sq_0, F0=1',
                                              'n_sdp': 144,
                                              'unsolved': 0,
                                              'max_solver_gap': 2.5e-07,
                                              'seconds': 154.72,
                                              'remark': ''},
            'classic_delayed_sgd/strongly_convex': {'status': 'VALID',
                                                    'worst_ratio': 0.995,
                                                    'worst_at': 'K=2, tau=4, delays=[0, 0] '
                                                                '(adversarial), eta=0.5 x max, '
                                                                'final_gap, F0=1, mu=0.1',
                                                    'n_sdp': 144,
                                                    'unsolved': 0,
                                                    'max_solver_gap': 2.5e-07,
                                                    'seconds': 132.79,
                                                    'remark': 'valid but loose in the rate: '
                                                              'the exact worst case decays '
                                                              'like (1 - eta mu)^(2K), the '
                                                              'bound like (1 - eta mu)^K (see '
                                                              'the theory module)'},
            'nadiradze2021/nonconvex_M': {'status': 'VALID',
                                          'worst_ratio': 0.7897,
                                          'worst_at': 'K=3, tau=0, delays=[0, 0, 0] (capped), '
                                                      'eta=0.5 x max, avg_grad_sq_0, F0=1, M=1',
                                          'n_sdp': 288,
                                          'unsolved': 0,
                                          'max_solver_gap': 4e-06,
                                          'seconds': 275.81,
                                          'remark': 'with M bounding ||grad f|| at every '
                                                    "iterate (the toolkit's reading and "
                                                    'estimator); with M over evaluated '
                                                    'gradients only the bound is invalid '
                                                    '(issue 18)'},
            'nadiradze2021/nonconvex_sigma': {'status': 'VALID',
                                              'worst_ratio': 0.8307,
                                              'worst_at': 'K=20, tau=1, delays=[0, 1, 1, 1, 1, '
                                                          '1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, '
                                                          '1, 1, 1] (capped), eta=1 x max, '
                                                          'avg_grad_sq, F0=1, B=0.5',
                                              'n_sdp': 288,
                                              'unsolved': 0,
                                              'max_solver_gap': 4.5e-06,
                                              'seconds': 285.22,
                                              'remark': ''},
            'nadiradze2021/strongly_convex': {'status': 'VALID',
                                              'worst_ratio': 0.4939,
                                              'worst_at': 'K=5, tau=4, delays=[0, 1, 2, 3, 4] '
                                                          '(capped), eta=1 x max, '
                                                          'final_dist_sq, r0_sq=1, mu=0.5, M=1',
                                              'n_sdp': 144,
                                              'unsolved': 0,
                                              'max_solver_gap': 6.1e-05,
                                              'seconds': 148.92,
                                              'remark': ''},
            'nadiradze2021/strongly_convex_sigma': {'status': 'VALID',
                                                    'worst_ratio': 0.734,
                                                    'worst_at': 'K=2, tau=0, delays=[0, 0] '
                                                                '(capped), eta=0.5 x max, '
                                                                'final_dist_sq, r0_sq=1, '
                                                                'mu=0.5, B=0.5',
                                                    'n_sdp': 144,
                                                    'unsolved': 0,
                                                    'max_solver_gap': 1.7e-06,
                                                    'seconds': 15.34,
                                                    'remark': 'valid but loose in the rate: '
                                                              'per step the bound contracts by '
                                                              '1 - eta mu (3/2 - 2 L eta), the '
                                                              'exact worst case at tau = 0 by '
                                                              '(1 - eta mu)^2 (see the theory '
                                                              'module)'},
            'nadiradze2021/view_gap_async': {'status': 'VALID',
                                             'worst_ratio': 1.0,
                                             'worst_at': 'K=3, tau=1, delays=[0, 0, 1] '
                                                         '(adversarial), eta=0.5 x max, '
                                                         'view_gap_sq, M=1',
                                             'n_sdp': 62,
                                             'unsolved': 0,
                                             'max_solver_gap': 4.8e-05,
                                             'seconds': 37.16,
                                             'remark': ''}}}
